"""Tables (`ps ax`, `kubectl get pods`, ...): parsed with or without column alignment, compared row by row.

Rows are matched by their key column (COMMAND/CMD/ARGS, else the first column), whitespace-insensitive.
Process-id columns hold page-wide placeholders (see bindings.py); Kubernetes-generated name suffixes in
the key column too. Other columns differing is drift; a documented row with no real row is a failure.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..verdict import Outcome, Verdict
from .bindings import NAME, PID, PID_COLUMNS, Bindings, format_values, split_generated_name
from .common import at_line, line_label, normalize_space, page_line, short, terminal_lines

#: Columns holding a process's command line; the key column when present.
COMMAND_COLUMNS = ("COMMAND", "CMD", "ARGS")

# Start times and ages never match between two runs of a page: not compared (said in the reason).
# TIME (CPU time) is compared: it is usually 0:00 on both sides, and a difference is drift.
ELAPSED_COLUMNS = frozenset({"AGE", "LAST SEEN", "FIRST SEEN", "STIME", "START", "STARTED", "ELAPSED",
                             "CREATED", "DURATION"})

_HEADER_WORD = re.compile(r"[A-Z%#][A-Z0-9%#_()/.-]*")
# busybox ps prints `{comm} args` when a process's name is not its command line's program
_BUSYBOX_NAMED = re.compile(r"\{([^}]+)\}\s*(.*)")


@dataclass
class Row:
    cells: dict[str, str]  # column -> value, whitespace-normalized
    offset: int            # line index of the row within the parsed text
    text: str              # the line as shown


@dataclass
class Table:
    columns: list[str]
    rows: list[Row]
    aligned: bool          # parsed by column positions (False: alignment lost, split on whitespace)
    header_offset: int = 0

    @property
    def key_column(self) -> str:
        for name in COMMAND_COLUMNS:
            if name in self.columns:
                return name
        return self.columns[0]


# ---- parsing ---------------------------------------------------------------------------------------

def is_table_header(line: str) -> bool:
    """A line of upper-case column names: `PID USER TIME COMMAND`, `NAME READY STATUS RESTARTS AGE`."""
    words = line.split()
    return (len(words) >= 2 and all(_HEADER_WORD.fullmatch(w) for w in words)
            and any(sum(c.isalpha() for c in w) >= 2 for w in words))


def parse_table(text: str) -> Table | None:
    """The table whose header is the first non-empty line of `text`, or None if that is not a header."""
    lines = terminal_lines(text)
    header_offset = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_offset is None or not is_table_header(lines[header_offset]):
        return None
    header = lines[header_offset]
    rows = [(i, line) for i, line in enumerate(lines) if i > header_offset and line.strip()]
    starts = _column_starts(header, [line for _, line in rows])
    if starts is not None:
        columns = [name for name, _ in starts]
        parsed = [Row(_cut(line, starts), i, line) for i, line in rows]
        return Table(columns, parsed, aligned=True, header_offset=header_offset)
    # alignment lost: whitespace-separated, the last column (COMMAND) takes the rest of the line
    columns = header.split()
    parsed = []
    for i, line in rows:
        values = line.split(None, len(columns) - 1)
        values += [""] * (len(columns) - len(values))
        parsed.append(Row({c: normalize_space(v) for c, v in zip(columns, values)}, i, line))
    return Table(columns, parsed, aligned=False, header_offset=header_offset)


def _column_starts(header: str, rows: list[str]) -> list[tuple[str, int]] | None:
    """[(column, start position)] when the rows line up under the header, else None.

    Columns are the runs of character positions that some line occupies, separated by positions blank
    in the header and in every row (values may be left- or right-aligned, and wider than their
    header). A run without a header word continues the column before it (a value with spaces); words
    one space apart in a run form one name (`LAST SEEN`), as does a word whose run holds no value.
    """
    words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", header)]
    gaps = [b[0] - a[1] for a, b in itertools.pairwise(words)]
    if all(gap == 1 for gap in gaps):
        return None  # single spaces only: the alignment is gone (or was never there)
    last_start = words[-1][0]
    width = max(len(line) for line in [header, *rows])
    # the last column's values contain spaces: everything from its start on is one column
    occupied = [p >= last_start or any(p < len(line) and line[p] != " " for line in [header, *rows])
                for p in range(width)]
    runs, p = [], 0
    while p < width:
        if occupied[p]:
            q = p
            while q < width and occupied[q]:
                q += 1
            runs.append((p, q))
            p = q
        else:
            p += 1
    starts: list[tuple[str, int]] = []
    previous_word_end: int | None = None     # set with the first column (starts is empty until then)
    for run_start, run_end in runs:
        in_run = [w for w in words if run_start <= w[0] < run_end]
        if not in_run:
            if not starts:
                return None  # values left of every column: alignment lost
            continue  # a value with spaces, wider than its header: still the previous column
        if any(b[0] - a[1] != 1 for a, b in itertools.pairwise(in_run)):
            return None  # a row bridges two columns
        name = " ".join(w[2] for w in in_run)
        holds_values = any(line[run_start:run_end].strip() for line in rows)
        if (starts and rows and not holds_values and previous_word_end is not None
                and in_run[0][0] - previous_word_end == 1):
            starts[-1] = (f"{starts[-1][0]} {name}", starts[-1][1])
        else:
            starts.append((name, run_start))
        previous_word_end = in_run[-1][1]
    return starts


def _cut(line: str, starts: list[tuple[str, int]]) -> dict[str, str]:
    cells = {}
    for index, (name, start) in enumerate(starts):
        end = starts[index + 1][1] if index + 1 < len(starts) else len(line)
        cells[name] = normalize_space(line[start:end])
    return cells


# ---- matching rows ---------------------------------------------------------------------------------

def _basename_tokens(key: str) -> list[str]:
    return [token.rstrip("/").rsplit("/", 1)[-1] or token for token in key.split()]


def _busybox_name(key: str) -> tuple[str, str] | None:
    match = _BUSYBOX_NAMED.fullmatch(key)
    return (match.group(1), match.group(2)) if match else None


def _same_generated_shape(doc: str, real: str) -> bool:
    doc_split, real_split = split_generated_name(doc), split_generated_name(real)
    return (doc_split is not None and real_split is not None and doc_split[0] == real_split[0]
            and len(doc_split[1]) == len(real_split[1]))


def _token_prefix(doc: str, real: str) -> bool:
    doc_tokens, real_tokens = _basename_tokens(doc), _basename_tokens(real)
    shorter, longer = sorted((doc_tokens, real_tokens), key=len)
    return bool(shorter) and longer[: len(shorter)] == shorter


def _applet_of(doc: str, real: str) -> bool:
    named = _busybox_name(real)
    return named is not None and bool(doc.split()) and named[0] == _basename_tokens(doc)[0]


@dataclass(frozen=True)
class _Tier:
    """One way a documented key may match a real key, tried in order, best first."""
    name: str
    matches: Callable[[str, str], bool]
    group: Callable[[str], object]  # documented rows with the same group compete for the same real rows
    is_drift: bool                  # matching this way is itself a difference to report


def _generated_shape(key: str) -> object:
    # pods of one Deployment compete for the same real rows whatever their documented suffixes
    split = split_generated_name(key)
    return (split[0], len(split[1])) if split else key


_TIERS = (
    _Tier("exact", lambda d, r: d == r, lambda d: d, False),
    _Tier("generated name", _same_generated_shape, _generated_shape, False),
    _Tier("same program path", lambda d, r: _basename_tokens(d) == _basename_tokens(r),
          lambda d: tuple(_basename_tokens(d)), True),
    _Tier("busybox {comm}", _applet_of, lambda d: d, True),
    _Tier("same command, other arguments", _token_prefix, lambda d: d, True),
)


@dataclass
class _RowResult:
    doc: Row
    reals: list[Row] = field(default_factory=list)
    group_extras: list[Row] = field(default_factory=list)  # same-command real rows beyond the page's
    group_size: int = 1                                   # documented rows of the same command
    group_real_count: int = 0                             # real rows of that command
    counts_group: bool = False                            # this row reports the group's count
    tier: _Tier | None = None
    fails: list[str] = field(default_factory=list)
    drifts: list[tuple[str, str]] = field(default_factory=list)  # (reason, short note for the diff)
    pid_map: list[str] = field(default_factory=list)      # "PID 14 -> 33, 34"


class _Matcher:
    def __init__(self, expected: Table, actual: Table, columns: dict[str, str], key: str,
                 bindings: Bindings):
        self.expected, self.actual = expected, actual
        self.columns, self.key, self.real_key_column = columns, key, columns[key]
        self.bindings = bindings
        self.pid_column = "PID" if "PID" in columns else None

    def doc_key(self, row: Row) -> str:
        return row.cells.get(self.key, "")

    def real_key(self, row: Row) -> str:
        return row.cells.get(self.real_key_column, "")

    def _order(self, rows: list[Row], real: bool) -> list[Row]:
        column = (self.columns[self.pid_column] if real else self.pid_column) if self.pid_column else None
        if column is None:
            return rows
        return sorted(rows, key=lambda r: (0, int(r.cells[column])) if r.cells.get(column, "").isdigit()
                      else (1, r.offset))

    def _claims(self, doc: Row, real: Row) -> bool:
        """Whether an earlier binding says this real row is the one the documented row stands for."""
        if self.pid_column:
            binding = self.bindings.get(PID, doc.cells.get(self.pid_column, ""))
            if binding is not None:
                return real.cells.get(self.columns[self.pid_column], "") in binding.real
        doc_split = split_generated_name(self.doc_key(doc))
        real_split = split_generated_name(self.real_key(real))
        if doc_split and real_split and len(doc_split[1]) == len(real_split[1]):
            bound = [(self.bindings.get(NAME, d), r) for d, r in zip(doc_split[1], real_split[1])]
            if any(b is not None for b, _ in bound):
                return all(b is None or r in b.real for b, r in bound)
        return False

    def match(self) -> tuple[list[_RowResult], list[Row]]:
        results = {id(row): _RowResult(row) for row in self.expected.rows}
        free = list(self.actual.rows)
        for tier in _TIERS:
            groups: dict[object, list[Row]] = {}
            for row in self.expected.rows:
                if not results[id(row)].reals:
                    groups.setdefault(tier.group(self.doc_key(row)), []).append(row)
            for docs in groups.values():
                candidates = [r for r in free if tier.matches(self.doc_key(docs[0]), self.real_key(r))]
                if not candidates:
                    continue
                self._distribute(docs, candidates, results, tier)
                free = [r for r in free if all(r is not c for c in candidates)]
        return [results[id(row)] for row in self.expected.rows], free

    def _distribute(self, docs: list[Row], candidates: list[Row], results: dict[int, _RowResult],
                    tier: _Tier) -> None:
        """Share same-command real rows among documented rows: bound rows first take their own."""
        left = list(candidates)
        for doc in docs:
            mine = [r for r in left if self._claims(doc, r)]
            results[id(doc)].reals += mine
            left = [r for r in left if all(r is not m for m in mine)]
        # documented rows still open: unbound ones, and bound ones whose processes are gone
        open_docs = self._order([d for d in docs if not results[id(d)].reals], real=False)
        left = self._order(left, real=True)
        for index, doc in enumerate(open_docs):
            if index == len(open_docs) - 1:
                results[id(doc)].reals += left  # one documented row may stand for several real rows
                left = []
            elif left:
                results[id(doc)].reals.append(left.pop(0))
        for doc in docs:
            result = results[id(doc)]
            if result.reals:
                result.tier = tier
                result.group_size = len(docs)
                result.group_real_count = len(candidates)
        results[id(docs[-1])].counts_group = True
        if left:  # more real rows of this command than the page shows, the page's own all found
            results[id(docs[-1])].group_extras += left


# ---- comparing -------------------------------------------------------------------------------------

def compare_table(expected: Table, actual: Table, bindings: Bindings, line: int | None = None) -> Outcome:
    """Compare a documented table with the real one, binding process ids page-wide."""
    columns = _map_columns(expected, actual)
    table_drifts = []
    for column in expected.columns:
        if column not in columns:
            table_drifts.append(f"column {column} not shown by the real output")
        elif columns[column] != column:
            table_drifts.append(f"column {column} is {columns[column]} in the real output")
    for column in actual.columns:
        if column not in columns.values():
            table_drifts.append(f"real output has column {column}, not shown on the page")
    key = expected.key_column
    if key not in columns:
        reason = (f"the real table has no column {key} to match the page's rows by "
                  f"(page: {' '.join(expected.columns)}; real: {' '.join(actual.columns)})")
        return Outcome(Verdict.FAIL, [reason] + table_drifts, _plain_diff(expected, actual, line))

    matcher = _Matcher(expected, actual, columns, key, bindings)
    results, unmatched_real = matcher.match()
    what = "process" if key in COMMAND_COLUMNS else "row"
    for result in results:
        _check_row(result, matcher, bindings, line, what)

    fails = [r for result in results for r in result.fails]
    drifts = table_drifts + [reason for result in results for reason, _ in result.drifts]
    for row in unmatched_real:
        drifts.append(f"real output also shows {_describe_real(row, matcher)}, not on the page")
    skipped = [c for c in columns if c in ELAPSED_COLUMNS]
    if not fails and not drifts:
        bound = "; ".join(p for result in results for p in result.pid_map)
        reason = f"table matches the page ({len(results)} row{'s' if len(results) != 1 else ''})"
        if bound:
            reason += f"; {bound}"
        if skipped:
            reason += f"; {', '.join(skipped)} not compared (elapsed times never match)"
        return Outcome(Verdict.PASS, [reason])
    verdict = Verdict.FAIL if fails else Verdict.DRIFT
    return Outcome(verdict, fails + drifts, _render(results, unmatched_real, matcher, line))


def _map_columns(expected: Table, actual: Table) -> dict[str, str]:
    """Page column -> real column, for the columns both sides have (COMMAND/CMD/ARGS are one)."""
    mapping = {c: c for c in expected.columns if c in actual.columns}
    if (expected.key_column in COMMAND_COLUMNS and expected.key_column not in mapping
            and actual.key_column in COMMAND_COLUMNS and actual.key_column not in mapping.values()):
        mapping[expected.key_column] = actual.key_column
    return mapping


def _describe_real(row: Row, matcher: _Matcher) -> str:
    text = repr(short(matcher.real_key(row), 60))
    if matcher.pid_column:
        text += f" (PID {row.cells.get(matcher.columns[matcher.pid_column], '?')})"
    return text


def _check_row(result: _RowResult, matcher: _Matcher, bindings: Bindings, line: int | None,
               what: str) -> None:
    doc = result.doc
    doc_key = matcher.doc_key(doc)
    doc_line = page_line(line, doc.offset)
    if not result.reals:
        state = "is not running" if what == "process" else "is not in the real output"
        result.fails.append(f"{what} {short(doc_key)!r} documented{at_line(doc_line)} {state}")
        return
    real_keys = sorted({matcher.real_key(r) for r in result.reals})
    if result.tier is not None and result.tier.is_drift:
        for real_key in real_keys:
            reason = f"{matcher.key} of {short(doc_key)!r}: page {short(doc_key)!r}, real {short(real_key)!r}"
            note = f"{matcher.key} {short(doc_key, 40)!r} != {short(real_key, 40)!r}"
            named = _busybox_name(real_key)
            if named is not None and result.tier.name.startswith("busybox"):
                reason += (f" (busybox ps prints {real_key!r} for a process named {named[0]} "
                           f"whose command line is {named[1]!r})")
                note += " (busybox {name} args)"
            result.drifts.append((reason, note))
    # process ids: placeholders bound page-wide
    for page_column, real_column in matcher.columns.items():
        if page_column not in PID_COLUMNS:
            continue
        documented = doc.cells.get(page_column, "")
        real = {r.cells.get(real_column, "") for r in result.reals}
        if not documented.isdigit() or not all(v.isdigit() for v in real):
            continue  # "-", "?" or a blank cell: nothing to bind
        if page_column == "PID":
            problems = bindings.bind(PID, documented, real, line=doc_line, what=doc_key)
        else:  # the row's parent, group, session...: another process's id
            problems = bindings.bind(PID, documented, real, line=doc_line,
                                     seen_as=f"the {page_column} of {short(doc_key)!r}")
        result.fails += problems
        if not problems and page_column == "PID":
            result.pid_map.append(f"PID {documented} -> {format_values(real)}")
    # generated names in the key column (pods of a Deployment, Jobs)
    doc_split = split_generated_name(doc_key)
    if doc_split is not None and result.tier is not None and result.tier.name == "generated name":
        for index, part in enumerate(doc_split[1]):
            # this tier matched only real keys of the same generated shape: each splits
            real_parts = {split[1][index] for split in map(split_generated_name, real_keys) if split is not None}
            result.fails += bindings.bind(NAME, part, real_parts, line=doc_line, what=doc_key)
    # every other column: a different value is drift
    for page_column, real_column in matcher.columns.items():
        if page_column == matcher.key or page_column in PID_COLUMNS or page_column in ELAPSED_COLUMNS:
            continue
        documented = doc.cells.get(page_column, "") or "(blank)"
        different = sorted({r.cells.get(real_column, "") or "(blank)" for r in result.reals} - {documented})
        if different:
            real_values = ", ".join(different)
            reason = f"{page_column} of {short(doc_key)!r}: page {documented}, real {real_values}"
            result.drifts.append((reason, f"{page_column} {documented} != {real_values}"))
    if result.counts_group and result.group_real_count > result.group_size:
        shown, seen = result.group_size, result.group_real_count
        result.drifts.append((f"page shows {shown} {short(doc_key)!r}, saw {seen}",
                              f"page shows {shown}, saw {seen}"))


# ---- the readable diff -----------------------------------------------------------------------------

def _render(results: list[_RowResult], unmatched_real: list[Row], matcher: _Matcher, line: int | None) -> str:
    """One line per documented row, its real rows under it when they differ, aligned on columns.

    Marks: `=` same (PIDs apart), `~` drift, `!` fail, `+` a real row the page does not show.
    """
    page_columns = [c for c in matcher.expected.columns if c != matcher.key]
    real_only = [c for c in matcher.actual.columns
                 if c not in matcher.columns.values() and c != matcher.real_key_column]
    shown = page_columns + real_only + [matcher.key]
    real_name = {c: matcher.columns.get(c, c) for c in shown}

    def doc_cells(row: Row, real: Row | None = None) -> list[str]:
        # a row equal to its real row also shows the real-only columns' values
        return [real.cells.get(c, "") if real is not None and c in real_only else row.cells.get(c, "")
                for c in shown]

    def real_cells(row: Row) -> list[str]:
        return [row.cells.get(real_name[c], "") for c in shown]

    # header: `-USER` a column only the page has, `+TTY` one only the real output has
    header = [f"+{c}" if c in real_only else f"-{c}" if c not in matcher.columns else c for c in shown]
    # (label, mark, cells or None for a note line, note)
    entries: list[tuple[str, str, list[str] | None, str]] = [("", " ", header, "")]
    for result in results:
        doc = result.doc
        label = line_label(page_line(line, doc.offset), doc.offset)
        mark = "!" if result.fails else "~" if result.drifts else "="
        if mark == "=" and len(result.reals) == 1:
            real = result.reals[0]
            entries.append((label, mark, doc_cells(doc, real), _pid_arrow(doc, real, matcher)))
            continue
        entries.append((label, mark, doc_cells(doc), ""))
        for real in result.reals:
            # a row whose binding failed shows its real PID only: the fail line says what it was bound to
            note = _pid_arrow(doc, real, matcher, arrow=not result.fails)
            entries.append(("  real", " ", real_cells(real), note))
        for real in result.group_extras:
            entries.append(("  real", "+", real_cells(real), "not on the page"))
        entries += [("", "", None, f"fail: {reason}") for reason in result.fails]
        if result.drifts:
            entries.append(("", "", None, "drift: " + "; ".join(note for _, note in result.drifts)))
    for real in unmatched_real:
        entries.append(("  real", "+", real_cells(real), "not on the page"))

    rows = [cells for _, _, cells, _ in entries if cells is not None]
    widths = [max(len(cells[i]) for cells in rows) for i in range(len(shown))]
    numeric = [all(cells[i].isdigit() or not cells[i] for cells in rows[1:]) for i in range(len(shown))]
    label_width = max(len(label) for label, *_ in entries) + 1
    out = []
    for label, mark, cells, note in entries:
        if cells is None:
            out.append(" " * (label_width + 2) + note)
            continue
        padded = [cells[i].rjust(widths[i]) if numeric[i] else cells[i].ljust(widths[i])
                  for i in range(len(shown))]
        text = f"{label:<{label_width}}{mark} " + "  ".join(padded)
        out.append((f"{text}   ({note})" if note else text).rstrip())
    return "\n".join(out)


def _pid_arrow(doc: Row, real: Row, matcher: _Matcher, arrow: bool = True) -> str:
    """'PID 14 -> 33' (documented -> real), or 'real PID 33' without the arrow."""
    if not matcher.pid_column:
        return ""
    documented = doc.cells.get(matcher.pid_column, "")
    actual = real.cells.get(matcher.columns[matcher.pid_column], "")
    if not arrow:
        return f"real PID {actual}" if actual else ""
    return f"PID {documented} -> {actual}" if documented and actual and documented != actual else ""


def _plain_diff(expected: Table, actual: Table, line: int | None) -> str:
    out = []
    for row in expected.rows:
        out.append(f"{line_label(page_line(line, row.offset), row.offset):<10}page  {row.text.strip()}")
    for row in actual.rows:
        out.append(f"{'':<10}real  {row.text.strip()}")
    return "\n".join(out)
