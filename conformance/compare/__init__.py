"""The comparison engine: what the page says a reader will see, against what was seen.

Pure Python, no runtime dependency. `compare_output` picks the comparer for one command's output:
a table (upper-case column header), a configuration excerpt (a file read with head/cat/..., or text
made of directives) or free text. Page-wide placeholders (process ids, generated names) live in
`Bindings`, shared by all outputs and commands of one page run.
"""
from __future__ import annotations

import re

from ..verdict import Outcome, Verdict
from .bindings import PID_COLUMNS, Binding, Bindings, UnboundPlaceholder, prints_pids, split_generated_name
from .common import first_nonblank, looks_like_error, short, terminal_lines
from .config import Directive, compare_config, parse_directives
from .shell import command_name, shell_words, simple_commands
from .tables import Row, Table, compare_table, is_table_header, parse_table
from .text import compare_text, line_diff

__all__ = [
    "PID_COLUMNS",
    "Binding",
    "Bindings",
    "Directive",
    "Row",
    "Table",
    "UnboundPlaceholder",
    "compare_config",
    "compare_output",
    "compare_table",
    "compare_text",
    "is_table_header",
    "line_diff",
    "looks_like_config",
    "parse_directives",
    "parse_table",
    "reads_file",
    "split_generated_name",
]

#: Programs that print a file's content (possibly part of it).
FILE_READERS = frozenset({"cat", "head", "tail", "sed", "tac", "nl", "less", "more"})

# Lines only a configuration file has: `name value;`, `name {`, `}`, `[section]`, `key = value`.
_STRONG_DIRECTIVE = re.compile(r".*;|.*\{|\}|\[[^\]]+\]|[A-Za-z_][\w.-]*\s*=.*")
# Lines a configuration file may have: `key: value`, `Key value` (ssh, redis) with a short value.
_WEAK_DIRECTIVE = re.compile(r"[A-Za-z_][\w.-]*:(\s.*)?|[A-Za-z_][\w.-]*(\s+\S+){1,2}")


def reads_file(command: str | None) -> bool:
    """Whether the command prints (part of) a file: `head /proc/8/root/etc/nginx/nginx.conf`."""
    if not command:
        return False
    stages = simple_commands(shell_words(command))
    if not stages:
        return False
    has_path = False
    for stage in stages:
        program = command_name(stage)
        if program is None or program[1] not in FILE_READERS:
            return False
        arguments = [w.value for w in stage[program[0] + 1:] if w.kind == "word"]
        has_path = has_path or any(not a.startswith("-") and not a.isdigit() for a in arguments)
    return has_path


def looks_like_config(text: str, read_from_file: bool = False) -> bool:
    """Mostly directives: at least two lines and 60% of them (comments aside).

    Output that merely has `key: value` lines (kubectl describe) is compared as text unless it was
    read from a file.
    """
    lines = [line.strip() for line in terminal_lines(text)]
    lines = [line for line in lines if line and not line.startswith(("#", "//"))]
    if len(lines) < 2:
        return False
    directive = sum(bool(_STRONG_DIRECTIVE.fullmatch(line)
                         or (read_from_file and _WEAK_DIRECTIVE.fullmatch(line))) for line in lines)
    return directive >= 0.6 * len(lines)


def compare_output(expected: str, actual: str, bindings: Bindings, command: str | None = None,
                   line: int | None = None) -> Outcome:
    """Compare what the page shows for one command with what the terminal showed.

    `line` is the page line of `expected`'s first line: reasons and diffs name page lines.
    """
    if not expected.strip():
        if not actual.strip():
            return Outcome.passed("no output, as on the page")
        shown = short(first_nonblank(actual))
        if looks_like_error(actual):
            return Outcome.failed(f"the page shows no output, but the command printed an error: {shown}",
                                  line_diff(expected, actual, line))
        return Outcome.drifted(f"the page shows no output, but the command printed {shown!r}",
                               line_diff(expected, actual, line))

    if prints_pids(command):
        # `pgrep nginx` / `pidof`: the PIDs it lists bind like a ps table's PID column
        problems = bindings.bind_listed_pids(expected, actual, line=line, what=command or "")
        if problems is not None:
            if problems:
                return Outcome.failed("; ".join(problems), line_diff(expected, actual, line))
            return Outcome.passed("the PIDs listed bind to the page's")
    if is_table_header(first_nonblank(expected)):
        page_table = parse_table(expected)
        if page_table is not None and page_table.rows:
            return _compare_tables(page_table, expected, actual, bindings, line)

    if looks_like_config(expected, read_from_file=reads_file(command)):
        return compare_config(expected, actual, line)
    return compare_text(expected, actual, line, bindings=bindings)


def _compare_tables(page_table: Table, expected: str, actual: str, bindings: Bindings,
                    line: int | None) -> Outcome:
    real_lines = terminal_lines(actual)
    header_at = next((i for i, text in enumerate(real_lines) if is_table_header(text)), None)
    if header_at is None:
        if not actual.strip():
            reason = "the page shows a table, the real output is empty"
        elif looks_like_error(actual):
            reason = f"the page shows a table, the command printed an error: {short(first_nonblank(actual))}"
        else:
            reason = f"the page shows a table ({' '.join(page_table.columns)}), the real output has none"
        return Outcome.failed(reason, line_diff(expected, actual, line))
    real_table = parse_table("\n".join(real_lines[header_at:]))
    assert real_table is not None    # its first line is the header found above
    outcome = compare_table(page_table, real_table, bindings, line)
    before = [text.strip() for text in real_lines[:header_at] if text.strip()]
    if before:  # e.g. a warning printed before the table
        reason = f"the real output starts with lines the page does not show: {short(' / '.join(before))!r}"
        if outcome.verdict == Verdict.PASS:
            return Outcome(Verdict.DRIFT, [reason], outcome.diff)
        outcome.reasons.append(reason)
    return outcome
