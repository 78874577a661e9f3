"""Helpers shared by the comparers: terminal text cleanup, error-looking output, page-line labels."""
from __future__ import annotations

import re

# What a failed command prints (shell, coreutils, busybox, kubectl). Deliberately short: callers
# also get the exit status, this only catches outputs that read as an error message.
_ERROR_TEXT = re.compile(
    r"no such (?:file|process)|not found|can't|cannot|permission denied|operation not permitted|\berror\b"
    r"|\busage:",
    re.IGNORECASE | re.MULTILINE,
)


def terminal_lines(text: str) -> list[str]:
    """The lines a reader saw: carriage returns applied, tabs expanded, trailing spaces dropped."""
    raw_lines = text.replace("\r\n", "\n").split("\n")
    return [_apply_carriage_returns(raw).expandtabs().rstrip() for raw in raw_lines]


def _apply_carriage_returns(raw: str) -> str:
    # a bare \r moves the cursor to column 0: later text overwrites earlier text
    raw = raw.rstrip("\r")
    if "\r" not in raw:
        return raw
    shown = ""
    for segment in raw.split("\r"):
        shown = segment + shown[len(segment):]
    return shown


def normalize_space(text: str) -> str:
    return " ".join(text.split())


def looks_like_error(text: str) -> bool:
    return bool(_ERROR_TEXT.search(text))


def first_nonblank(text: str) -> str:
    for line in terminal_lines(text):
        if line.strip():
            return line.strip()
    return ""


def page_line(line: int | None, offset: int) -> int | None:
    """Page line of the line `offset` lines below the first line of a block starting at `line`."""
    return None if line is None else line + offset


def at_line(page_line_number: int | None) -> str:
    """' at line 42', or nothing when the page line is unknown."""
    return "" if page_line_number is None else f" at line {page_line_number}"


def line_label(page_line_number: int | None, offset: int) -> str:
    """Left-margin label of a diff line: the page line, else the line's position in the block."""
    return f"line {page_line_number}" if page_line_number is not None else f"row {offset + 1}"


def short(text: str, limit: int = 80) -> str:
    text = normalize_space(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
