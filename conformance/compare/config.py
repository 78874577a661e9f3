"""Configuration excerpts (`head /etc/nginx/nginx.conf`, `cat config.ini`) compared directive by directive.

A config file is read as directives with nesting, in any of the common shapes:
`name value...;` with `name {` ... `}` blocks (nginx, apache-like), `key = value` with `[section]`
headers (ini, toml), `key: value` nested by indentation (yaml-ish), `key value` (ssh, redis).
Comments, blank lines and whitespace do not matter. A directive is identified by its path (enclosing
sections/blocks) and name; repeated names are kept in order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..verdict import Outcome, Verdict
from .common import (
    at_line,
    first_nonblank,
    line_label,
    looks_like_error,
    normalize_space,
    page_line,
    terminal_lines,
)
from .text import line_diff


@dataclass(frozen=True)
class Directive:
    path: tuple[str, ...]  # enclosing sections/blocks, outermost first, e.g. ("events",)
    name: str
    value: str             # whitespace-normalized, without the `;` terminator
    offset: int            # line index within the parsed text
    block: bool = False    # opens a block or section
    source: str = ""       # the directive as written, whitespace-normalized, for the diff

    @property
    def where(self) -> str:
        """The directive's path for a reason: `events > worker_connections`."""
        return " > ".join(self.path + (self.name,))


_SECTION = re.compile(r"\[\[?([^\]]+)\]\]?")
_KEY_EQUALS = re.compile(r"([^\s=:]+)\s*=\s*(.*)")
_KEY_COLON = re.compile(r"([^\s:]+):(?:\s+(.*))?")


def parse_directives(text: str) -> list[Directive]:
    """The directives of a config text (complete or cut off anywhere, as `head` does)."""
    lines = [(offset, _strip_comment(line)) for offset, line in enumerate(terminal_lines(text))]
    lines = [(offset, line) for offset, line in lines if line.strip()]
    brace_style = any(line.rstrip().endswith((";", "{")) for _, line in lines)
    return _parse_braces(lines) if brace_style else _parse_lines(lines)


def _strip_comment(line: str) -> str:
    stripped = line.strip()
    if stripped.startswith(("#", ";", "//")):
        return ""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line


def _split_statement(statement: str) -> tuple[str, str]:
    name, _, value = normalize_space(statement).partition(" ")
    return name, value


def _parse_braces(lines: list[tuple[int, str]]) -> list[Directive]:
    """nginx-like: statements end with `;`, blocks open with `{` and close with `}`, across lines."""
    directives: list[Directive] = []
    path: list[str] = []
    pending, pending_offset = "", 0
    for offset, line in lines:
        quote = None
        for char in line:
            if quote:
                quote = None if char == quote else quote
                pending += char
                continue
            if char in "'\"":
                quote = char
            if char in ";{}":
                if pending.strip():
                    name, value = _split_statement(pending)
                    source = normalize_space(pending) + (";" if char == ";" else " {")
                    directives.append(Directive(tuple(path), name, value, pending_offset, block=char == "{",
                                                source=source))
                    if char == "{":
                        path.append(f"{name} {value}".strip())
                if char == "}" and path:
                    path.pop()
                pending = ""
                continue
            if not pending.strip():
                pending_offset = offset
            pending += char
        pending += " "  # a statement may continue on the next line
    if pending.strip():  # cut off before its `;`
        name, value = _split_statement(pending)
        directives.append(Directive(tuple(path), name, value, pending_offset,
                                    source=normalize_space(pending)))
    return directives


def _parse_lines(lines: list[tuple[int, str]]) -> list[Directive]:
    """One directive per line: `[section]`, `key = value`, `key: value` (indentation nests), `key value`.

    A yaml-ish list item `- key: value` is a block `-` holding `key`.
    """
    directives: list[Directive] = []
    section: tuple[str, ...] = ()
    nested: list[tuple[str, int]] = []  # open yaml-ish blocks (`key:` and `-`) and their indentation
    for offset, line in lines:
        indent = len(line) - len(line.lstrip())
        content = line.strip()
        is_item = content == "-" or content.startswith("- ")
        # a list may sit at its key's indentation (`clusters:` then `- cluster:`)
        while nested and (indent < nested[-1][1] or indent == nested[-1][1] and not (
                is_item and nested[-1][0] != "-")):
            nested.pop()
        if is_item:
            item = content[1:].strip()
            path = section + tuple(name for name, _ in nested)
            if not (_KEY_EQUALS.fullmatch(item) or _KEY_COLON.fullmatch(item)):
                directives.append(Directive(path, "-", normalize_space(item), offset, source=content))
                continue
            directives.append(Directive(path, "-", "", offset, block=True, source="-"))
            nested.append(("-", indent))
            content, indent = item, indent + len(content) - len(item)
        path = section + tuple(name for name, _ in nested)
        if (match := _SECTION.fullmatch(content)) is not None:
            section, nested = (f"[{match.group(1).strip()}]",), []
            directives.append(Directive((), section[0], "", offset, block=True, source=content))
        elif (match := _KEY_EQUALS.fullmatch(content)) is not None:
            directives.append(Directive(path, match.group(1), normalize_space(match.group(2)), offset,
                                        source=normalize_space(content)))
        elif (match := _KEY_COLON.fullmatch(content)) is not None:
            value = normalize_space(match.group(2) or "")
            directives.append(Directive(path, match.group(1), value, offset, block=not value,
                                        source=normalize_space(content)))
            if not value:
                nested.append((match.group(1), indent))
        else:
            name, value = _split_statement(content)
            directives.append(Directive(path, name, value, offset, source=normalize_space(content)))
    return directives


def _pair(documented: list[Directive], real: list[Directive]) -> tuple[
        list[tuple[Directive, Directive]], list[Directive], list[Directive]]:
    """(page, real) pairs with the same path and name, then page-only and real-only directives.

    Among repeated names, equal values pair first, the rest in order.
    """
    pairs: list[tuple[Directive, Directive]] = []
    free = list(real)
    unpaired: list[Directive] = []
    for directive in documented:
        identity = (directive.path, directive.name, directive.value)
        same = next((r for r in free if (r.path, r.name, r.value) == identity), None)
        if same is not None:
            pairs.append((directive, same))
            free.remove(same)
        else:
            unpaired.append(directive)
    missing = []
    for directive in unpaired:
        other = next((r for r in free if (r.path, r.name) == (directive.path, directive.name)), None)
        if other is not None:
            pairs.append((directive, other))
            free.remove(other)
        else:
            missing.append(directive)
    return pairs, missing, free


def compare_config(expected: str, actual: str, line: int | None = None) -> Outcome:
    """Compare a documented config excerpt with the real one, directive by directive."""
    if not actual.strip():
        return Outcome.failed("the file could not be read: the real output is empty",
                              line_diff(expected, actual, line))
    documented, real = parse_directives(expected), parse_directives(actual)
    pairs, _, extra = _pair(documented, real)
    if not pairs:
        if looks_like_error(actual):
            reason = f"the file could not be read: {first_nonblank(actual)}"
        else:
            reason = "the real excerpt shares no directive with the page"
        return Outcome.failed(reason, line_diff(expected, actual, line))

    real_of = {id(page): real_directive for page, real_directive in pairs}
    drifts = []
    for directive in documented:
        if id(directive) in real_of:
            if real_of[id(directive)].value != directive.value:
                drifts.append(f"{directive.where}: page {directive.value or '(none)'}, "
                              f"real {real_of[id(directive)].value or '(none)'}")
        else:
            where = at_line(page_line(line, directive.offset))
            drifts.append(f"{directive.where} (page{where}: {directive.source}) is not in the real excerpt")
    drifts += [f"real excerpt also has {d.source!r}, not on the page" for d in extra]
    if not drifts:
        return Outcome.passed(f"the excerpt's {len(documented)} directives are the page's")
    return Outcome(Verdict.DRIFT, drifts, _render(documented, real_of, extra, line))


def _render(documented: list[Directive], real_of: dict[int, Directive], extra: list[Directive],
            line: int | None) -> str:
    """One line per documented directive, nested by its path; `~` changed, `-` absent, `+` real only."""
    entries = []
    for directive in documented:
        label = line_label(page_line(line, directive.offset), directive.offset)
        text = "  " * len(directive.path) + directive.source
        real = real_of.get(id(directive))
        if real is None:
            entries.append((label, "-", text, "not in the real excerpt"))
        elif real.value != directive.value:
            entries.append((label, "~", text, f"real: {real.source}"))
        else:
            entries.append((label, "=", text, ""))
    for directive in extra:
        entries.append(("  real", "+", "  " * len(directive.path) + directive.source, "not on the page"))
    label_width = max(len(label) for label, *_ in entries) + 1
    text_width = max(len(text) for _, _, text, _ in entries)
    return "\n".join(f"{label:<{label_width}}{mark} {text:<{text_width}}   {note}".rstrip()
                     for label, mark, text, note in entries)
