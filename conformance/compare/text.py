"""Free text output, compared line by line.

Whitespace does not matter, nor do blank lines (translated pages lose them). On the page, `<...>`,
`...`, `$VAR` and `${VAR}` are placeholders matching anything at their place in the line, and a line of
just `...` stands for any number of lines. Lines differing only in volatile tokens (numbers, hex ids,
dates, times, durations, generated name suffixes) are drift; anything else fails, with a diff.
"""
from __future__ import annotations

import difflib
import enum
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..verdict import Outcome, Verdict
from .bindings import NAME, OBJECT_NAME, Bindings, split_generated_name
from .common import at_line, page_line, short, terminal_lines

_PLACEHOLDER = re.compile(r"<[^<>\s][^<>]*>|\.\.\.|…|\$\{[^}\s]+\}|\$[A-Za-z_][A-Za-z0-9_]*")
_ELLIPSIS_LINE = re.compile(r"\s*(\.\.\.|…)\s*")
_INLINE_ELISION = re.compile(r"(?<!\.)(?:\.\.\.|…)(?!\.)")

# volatile values: timestamps, clock times, durations (5s, 2m30s), hex ids, any other number
_VOLATILE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"|(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d))+(?![A-Za-z])"
    r"|(?<![0-9A-Za-z])(?=[a-f]*\d)[0-9a-f]{7,64}(?![0-9A-Za-z])"
    r"|\d+(?:\.\d+)*"
    # month names of dates (`ls -l`, `date`): as volatile as the day beside them
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)(?=\s+\d)"
)
_MASK = "\x00"
_NAME_MASK = "\x01"


class _Level(enum.IntEnum):
    """How well a page line matches a real line (higher is better)."""
    NONE = 0
    VOLATILE = 1  # equal once volatile values are masked
    NAMES = 2     # equal once generated name suffixes are masked
    EXACT = 3


@dataclass(frozen=True)
class _Line:
    offset: int  # line index within its text
    text: str    # whitespace-normalized

    @property
    def is_ellipsis(self) -> bool:
        return bool(_ELLIPSIS_LINE.fullmatch(self.text))


def _content_lines(text: str) -> list[_Line]:
    return [_Line(i, " ".join(line.split())) for i, line in enumerate(terminal_lines(text)) if line.strip()]


@functools.lru_cache(maxsize=4096)
def _mask_names(text: str) -> str:
    def mask(match: re.Match[str]) -> str:
        split = split_generated_name(match.group())
        return match.group() if split is None else split[0] + ("-" + _NAME_MASK) * len(split[1])
    return OBJECT_NAME.sub(mask, text)


@functools.lru_cache(maxsize=4096)
def _mask_volatile(text: str) -> str:
    return _VOLATILE.sub(_MASK, _mask_names(text))


def _unmasked(text: str) -> str:
    return text


_MASKS: dict[_Level, Callable[[str], str]] = {_Level.EXACT: _unmasked, _Level.NAMES: _mask_names, _Level.VOLATILE: _mask_volatile}


@functools.lru_cache(maxsize=4096)
def _pattern(page_text: str, level: _Level) -> re.Pattern[str]:
    """The page line as a regex: placeholders match anything, the rest literally (masked for `level`)."""
    mask = _MASKS[level]
    parts, position = [], 0
    for match in _PLACEHOLDER.finditer(page_text):
        parts.append(re.escape(mask(page_text[position:match.start()])))
        parts.append(".*?" if match.group() in ("...", "…") else ".+?")
        position = match.end()
    parts.append(re.escape(mask(page_text[position:])))
    return re.compile("".join(parts))


def _level(page: _Line, real: _Line) -> _Level:
    return _text_level(page.text, real.text)


@functools.lru_cache(maxsize=65536)
def _text_level(page_text: str, real_text: str) -> _Level:
    literal = _PLACEHOLDER.search(page_text) is None
    for level in (_Level.EXACT, _Level.NAMES, _Level.VOLATILE):
        mask = _MASKS[level]
        if (mask(page_text) == mask(real_text) if literal
                else _pattern(page_text, level).fullmatch(mask(real_text))):
            return level
    return _Level.NONE


def _align(page: list[_Line], real: list[_Line]) -> tuple[_Level, list[tuple[_Line, _Line]]]:
    """The best one-to-one alignment of page lines to real lines (`...` lines absorb any lines).

    Returns its worst pair level (NONE when the line counts cannot be reconciled) and the pairs.
    """
    n, m = len(page), len(real)
    if not any(line.is_ellipsis for line in page):  # line i is line i: no search needed
        if n != m:
            return _Level.NONE, []
        pairs = list(zip(page, real))
        return min((_level(p, r) for p, r in pairs), default=_Level.EXACT), pairs
    levels = {}

    def level(i: int, j: int) -> _Level:
        if (i, j) not in levels:
            levels[(i, j)] = _level(page[i], real[j])
        return levels[(i, j)]

    # best[i][j]: best worst-level matching page[i:] to real[j:], filled from the end
    best = [[_Level.NONE] * (m + 1) for _ in range(n + 1)]
    step: dict[tuple[int, int], tuple[int, int]] = {}
    best[n][m] = _Level.EXACT
    for i in range(n - 1, -1, -1):
        for j in range(m, -1, -1):
            if page[i].is_ellipsis:
                k = max(range(j, m + 1), key=lambda k: best[i + 1][k])
                best[i][j], step[(i, j)] = best[i + 1][k], (i + 1, k)
            elif j < m:
                best[i][j] = min(level(i, j), best[i + 1][j + 1])
                step[(i, j)] = (i + 1, j + 1)
    pairs, (i, j) = [], (0, 0)
    while (i, j) in step:
        ni, nj = step[(i, j)]
        if nj == j + 1 and ni == i + 1 and not page[i].is_ellipsis:
            pairs.append((page[i], real[j]))
        i, j = ni, nj
    return best[0][0], pairs


def _token_changes(page_text: str, real_text: str, names_are_placeholders: bool = False) -> str:
    """'5s -> 2m, 10.0.0.1 -> 10.0.0.7': the words that differ."""
    page_words, real_words = page_text.split(), real_text.split()
    changes = []
    matcher = difflib.SequenceMatcher(a=page_words, b=real_words, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag != "equal":
            before, after = " ".join(page_words[a1:a2]), " ".join(real_words[b1:b2])
            if names_are_placeholders and _mask_names(before) == _mask_names(after):
                continue  # only a bound generated name differs
            changes.append(f"{before or '(nothing)'} -> {after or '(nothing)'}")
    return ", ".join(changes)


# a long output differing in every line would drown the report: the diff has them all
_MAX_DRIFT_REASONS = 10


def _as_excerpt(page: list[_Line]) -> list[_Line]:
    """A page that elides inside its lines (`drwxr-xr-x ... labels`) shows an excerpt: the
    real output may hold lines between and around the ones it shows."""
    if any(line.is_ellipsis for line in page) or not any(_INLINE_ELISION.search(line.text) for line in page):
        return page
    gap = _Line(-1, "...")
    return [gap] + [item for line in page for item in (line, gap)]


def compare_text(expected: str, actual: str, line: int | None = None,
                 bindings: Bindings | None = None) -> Outcome:
    """Compare free text. With `bindings`, generated name suffixes are placeholders bound page-wide."""
    page, real = _as_excerpt(_content_lines(expected)), _content_lines(actual)
    worst, pairs = _align(page, real)
    if worst == _Level.NONE:
        first = _first_difference(page, real, line)
        return Outcome.failed(f"output differs from the page{first}", line_diff(expected, actual, line))

    drifts, fails = [], []
    for page_item, real_item in pairs:
        pair_level = _level(page_item, real_item)
        where = page_line(line, page_item.offset)
        label = f"line {where}" if where is not None else f"page row {page_item.offset + 1}"
        if pair_level == _Level.EXACT:
            continue
        if bindings is not None:
            fails += _bind_names(page_item.text, real_item.text, bindings, where)
        if pair_level == _Level.VOLATILE:
            changes = _token_changes(page_item.text, real_item.text,
                                     names_are_placeholders=bindings is not None)
            drifts.append(f"{label}: {changes}")
        elif bindings is None:
            changes = _token_changes(page_item.text, real_item.text)
            drifts.append(f"{label}: generated names differ: {changes}")
    if fails:
        return Outcome(Verdict.FAIL, fails + drifts, line_diff(expected, actual, line))
    if len(drifts) > _MAX_DRIFT_REASONS:
        more = len(drifts) - _MAX_DRIFT_REASONS
        drifts = drifts[:_MAX_DRIFT_REASONS] + [f"and {more} more lines with other values (see the diff)"]
    if drifts:
        return Outcome(Verdict.DRIFT, drifts, line_diff(expected, actual, line))
    return Outcome.passed("output matches the page")


def _bind_names(page_text: str, real_text: str, bindings: Bindings, where: int | None) -> list[str]:
    problems = []
    page_names = [n for n in OBJECT_NAME.findall(page_text) if split_generated_name(n)]
    real_names = [n for n in OBJECT_NAME.findall(real_text) if split_generated_name(n)]
    for page_name, real_name in zip(page_names, real_names):
        page_split, real_split = split_generated_name(page_name), split_generated_name(real_name)
        if page_split is None or real_split is None:     # not so: both lists hold generated names only
            continue
        if page_split[0] != real_split[0] or len(page_split[1]) != len(real_split[1]):
            continue
        for page_part, real_part in zip(page_split[1], real_split[1]):
            problems += bindings.bind(NAME, page_part, [real_part], line=where, what=page_name)
    return problems


def _first_difference(page: list[_Line], real: list[_Line], line: int | None) -> str:
    """' at line 42: page '...', real '...'' for the first pair of lines that cannot match."""
    if page and page[0].is_ellipsis:
        # lines may come between: the first page line found nowhere in the real output
        for page_item in page:
            if not page_item.is_ellipsis and all(_level(page_item, r) == _Level.NONE for r in real):
                return (f"{at_line(page_line(line, page_item.offset))}: page {short(page_item.text, 60)!r} "
                        "is not in the real output")
        return ""
    for page_item, real_item in zip(page, real):
        if page_item.is_ellipsis:
            return ""
        if _level(page_item, real_item) == _Level.NONE:
            return (f"{at_line(page_line(line, page_item.offset))}: page {short(page_item.text, 60)!r}, "
                    f"real {short(real_item.text, 60)!r}")
    if len(page) > len(real):
        return f": the real output ends before {short(page[len(real)].text, 60)!r}"
    if len(real) > len(page):
        return f": the real output goes on with {short(real[len(page)].text, 60)!r}"
    return ""


def line_diff(expected: str, actual: str, line: int | None = None, context: int = 2) -> str:
    """A unified-style diff, `-` page and `+` real, page lines numbered in the left gutter.

    Lines are compared whitespace-insensitively and blank lines are left out; lines that match
    (placeholders, volatile values) count as equal.
    """
    page, real = _content_lines(expected), _content_lines(actual)
    ops = _edit_script(page, real)
    width = len(str(page_line(line, page[-1].offset) if page and line is not None else len(page) + 1))
    shown = [index for index, (op, _, _) in enumerate(ops) if op != " "]
    keep = {k for index in shown for k in range(index - context, index + context + 1)}
    out = ["--- page" + at_line(line) if line is not None else "--- page", "+++ real"]
    previous = None
    for index, (op, page_item, real_item) in enumerate(ops):
        if index not in keep:
            continue
        if previous is not None and index != previous + 1:
            out.append("@@")
        previous = index
        number = ""
        if page_item is not None:
            number = str(page_line(line, page_item.offset) if line is not None else page_item.offset + 1)
        shown_item = real_item if op == "+" else page_item
        assert shown_item is not None    # `+` has its real line, `-`, `~` and ` ` their page line
        text = shown_item.text
        out.append(f"{op}{number:>{width}}  {text}")
    return "\n".join(out)


_Op = tuple[str, _Line | None, _Line | None]     # op (" ", "~", "-", "+"), page line, real line


def _edit_script(page: list[_Line], real: list[_Line]) -> list[_Op]:
    """Longest-common-subsequence alignment where matching lines (at any level) count as equal."""
    n, m = len(page), len(real)
    common = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if _level(page[i], real[j]) > _Level.NONE:
                common[i][j] = common[i + 1][j + 1] + 1
            else:
                common[i][j] = max(common[i + 1][j], common[i][j + 1])
    ops: list[_Op] = []
    i, j = 0, 0
    while i < n or j < m:
        if i < n and page[i].is_ellipsis:
            ops.append((" ", page[i], None))
            i += 1
        elif i < n and j < m and _level(page[i], real[j]) > _Level.NONE:
            ops.append((" " if _level(page[i], real[j]) == _Level.EXACT else "~", page[i], real[j]))
            i, j = i + 1, j + 1
        elif i < n and (j == m or common[i + 1][j] >= common[i][j + 1]):
            ops.append(("-", page[i], None))
            i += 1
        else:
            ops.append(("+", None, real[j]))
            j += 1
    # a `~` line (equal up to volatile values) is shown as its page and real versions
    expanded: list[_Op] = []
    for op, page_item, real_item in ops:
        if op == "~":
            expanded += [("-", page_item, None), ("+", None, real_item)]
        else:
            expanded.append((op, page_item, real_item))
    return expanded
