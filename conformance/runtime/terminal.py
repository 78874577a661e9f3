"""Interactive TTY sessions on a container, driven through a real PTY (pexpect).

A reader's terminal is a screen, not a byte stream: shells and line editors redraw the
prompt, send cursor moves, colours and queries (busybox sends ESC[6n, "where is the
cursor?"). `Screen` keeps just enough of a terminal to turn that stream into the lines a
reader sees; `PtySession` types one command line at a time at the prompt and returns what
the command printed, with its exit status.
"""
from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import pexpect

from .base import Session, StepError, Typed

# Escape sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL/ST), DCS/SOS/PM/APC strings,
# charset designations (ESC ( B) and the other two-byte escapes (ESC 7, ESC =, ...).
_ESCAPE = re.compile(
    r"""\x1b\[[0-?]*[ -/]*[@-~]
      | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)
      | \x1b[PX^_][^\x1b]*\x1b\\
      | \x1b[()*+\-./][ -~]
      | \x1b(?![\[\]PX^_])[ -/]*[0-~]""",
    re.VERBOSE,
)
# A chunk may end in the middle of a sequence: this matches such an unfinished tail.
_ESCAPE_PREFIX = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*|[PX^_][^\x1b]*|[()*+\-./])?\Z")
_CSI = re.compile(r"\x1b\[([0-?]*)[ -/]*([@-~])")

#: Last screen line of an interactive POSIX shell waiting for input ("/ # ", "$ ", "bash-5.2# ").
SHELL_PROMPT = re.compile(r"[#$] ?$")
#: Any prompt-like last line (shells, REPLs, "Password:").
ANY_PROMPT = re.compile(r"[#$%>:] ?$")


def strip_escapes(text: str) -> str:
    """Drop every terminal escape sequence and BEL; keep the text."""
    return _ESCAPE.sub("", text).replace("\x07", "")


class Screen:
    """Just enough of a terminal to render what programs draw into plain lines.

    Handles carriage return, backspace, tab, erase-line/erase-below and relative cursor
    moves (what line editors use to redraw a prompt); every other escape sequence (colours,
    modes, queries) is dropped. Queries are not answered: busybox's ESC[6n (cursor position)
    goes on without a reply, and a reply arriving after the prompt would be typed into
    whatever runs next. Lines have no width limit (no auto-wrap).
    """

    def __init__(self) -> None:
        self._lines: list[list[str]] = [[]]
        self._row = 0
        self._col = 0
        self._pending = ""

    def feed(self, data: str) -> None:
        data = self._pending + data
        self._pending = ""
        i, n = 0, len(data)
        while i < n:
            ch = data[i]
            if ch == "\x1b":
                m = _ESCAPE.match(data, i)
                if m is None:
                    if _ESCAPE_PREFIX.match(data, i):
                        self._pending = data[i:]   # finish it with the next chunk
                        return
                    i += 1
                    continue
                self._escape(m.group())
                i = m.end()
                continue
            if ch == "\r":
                self._col = 0
            elif ch == "\n":
                # PTY output maps \n to \r\n (ONLCR); a bare \n still starts a new line for us.
                self._row += 1
                self._col = 0
                if self._row == len(self._lines):
                    self._lines.append([])
            elif ch == "\b":
                self._col = max(0, self._col - 1)
            elif ch == "\t":
                self._put(" " * (8 - self._col % 8))
            elif ch >= " " and ch != "\x7f":
                self._put(ch)
            i += 1

    def _put(self, text: str) -> None:
        line = self._lines[self._row]
        for ch in text:
            if self._col > len(line):
                line.extend(" " * (self._col - len(line)))
            if self._col == len(line):
                line.append(ch)
            else:
                line[self._col] = ch
            self._col += 1

    def _escape(self, seq: str) -> None:
        m = _CSI.fullmatch(seq)
        if m is None:
            return
        params, final = m.group(1), m.group(2)
        try:
            n = int(params.split(";")[0]) if params and params[0].isdigit() else None
        except ValueError:
            n = None
        line = self._lines[self._row]
        if final == "K":                     # erase in line
            if not n:
                del line[self._col:]
            elif n == 1:
                line[: self._col] = [" "] * min(self._col, len(line))
            else:
                line.clear()
        elif final == "J":                   # erase below (0); "clear screen" keeps our history
            if not n:
                del line[self._col:]
                del self._lines[self._row + 1:]
        elif final == "C":
            self._col += n or 1
        elif final == "D":
            self._col = max(0, self._col - (n or 1))
        elif final == "G":
            self._col = max(0, (n or 1) - 1)
        elif final == "A":
            self._row = max(0, self._row - (n or 1))
        elif final == "B":
            self._row += n or 1
            while self._row >= len(self._lines):
                self._lines.append([])

    def lines(self) -> list[str]:
        """The rendered lines, trailing spaces kept (a prompt ends in one)."""
        return ["".join(line) for line in self._lines]

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines())


def render(data: str) -> str:
    """Plain text of a terminal byte stream (escape sequences gone, redraws applied)."""
    screen = Screen()
    screen.feed(data)
    return screen.text()


class PtySession(Session):
    """A shell (or any line-oriented program) on a container's TTY, through a PTY.

    type() sends one line, waits (bounded) until the prompt is back, and returns what was
    printed in between: the echoed command line and the prompt are removed, escapes
    stripped, lines joined by \\n. Where the prompt is a POSIX shell's (ends in "# " or
    "$ "), the exit status is read by typing a second line, `echo <marker>$?`: echo and
    $? are shell builtins, so this forks no process and leaves the PID namespace exactly as
    the reader's own session would (a `; echo $?` appended to the command would change
    what the page typed). Elsewhere status is None.
    """

    def __init__(self, child: pexpect.spawn[str], *, close_keys: list[str] | None = None,
                 on_close: Callable[[], None] | None = None, description: str = "session",
                 start_timeout: float = 15.0):
        self._child = child
        self._close_keys = close_keys or []
        self._on_close = on_close
        self._description = description
        self._marker = f"__status_{uuid.uuid4().hex[:8]}_"
        self._closed = False
        self.transcript: list[str] = []        # raw bytes seen, for diagnostics
        self.prompt = self._first_prompt(start_timeout)
        self._prompt_shape = prompt_shape(self.prompt)

    # -- reading ---------------------------------------------------------------------

    def _read_until(self, screen: Screen, done: Callable[[Screen], bool], deadline: float,
                    quiet: float = 0.0) -> bool:
        """Feed the screen until done(screen) holds (and no byte arrives for `quiet` s)."""
        while True:
            if done(screen):
                if quiet <= 0:
                    return True
                try:
                    chunk = self._child.read_nonblocking(65536, timeout=quiet)
                except pexpect.TIMEOUT:
                    return True
                except pexpect.EOF:
                    return True
                self._take(screen, chunk)
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                chunk = self._child.read_nonblocking(65536, timeout=min(remaining, 0.5))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                return done(screen)
            self._take(screen, chunk)

    def _take(self, screen: Screen, chunk: str) -> None:
        self.transcript.append(chunk)
        screen.feed(chunk)

    def _first_prompt(self, timeout: float) -> str:
        # Attaching shows nothing until the shell prints again: press Enter, like the docs
        # say ("If you don't see a command prompt, try pressing enter").
        screen = Screen()
        self._child.send("\r")
        deadline = time.monotonic() + timeout
        ok = self._read_until(screen, lambda s: bool(ANY_PROMPT.search(s.lines()[-1])), deadline,
                              quiet=0.15)
        last = screen.lines()[-1]
        if not ok or not ANY_PROMPT.search(last):
            raise StepError(f"{self._description}: no prompt within {timeout:.0f} s",
                            diagnostics=render("".join(self.transcript))[-2000:])
        return last

    # -- Session ---------------------------------------------------------------------

    def _prompt_back(self, screen: Screen) -> bool:
        lines = screen.lines()
        # the prompt on a line of its own, or right after output that ends without a newline
        # (`cat` of a file with no final newline: 'zone="us-est-coast"/ # ')
        return len(lines) >= 2 and (bool(self._prompt_shape.match(lines[-1]))
                                    or (len(lines[-1]) > len(self.prompt) and lines[-1].endswith(self.prompt)))

    def type(self, command: str, timeout: float = 20.0) -> Typed:
        if self._closed:
            raise StepError(f"{self._description} is closed")
        if "\n" in command or "\r" in command:
            raise StepError("type() takes one command line")
        deadline = time.monotonic() + timeout
        screen = Screen()
        self._child.send(command + "\r")
        if not self._read_until(screen, self._prompt_back, deadline):
            if not self._child.isalive():     # e.g. `exit`: the session ended
                return Typed(output=_between(screen.lines(), None), status=None)
            raise StepError(f"{self._description}: no prompt {timeout:.0f} s after typing {command!r}",
                            diagnostics=screen.text()[-4000:])
        lines = screen.lines()
        if self._prompt_shape.match(lines[-1]):
            self.prompt = lines[-1]             # `cd` changes it: "root@pod:/data/redis#"
        else:                                   # output without a final newline, then the prompt
            lines = lines[:-1] + [lines[-1][:-len(self.prompt)], self.prompt]
        output = _between(lines, self.prompt)
        status = self._status(deadline) if SHELL_PROMPT.search(self.prompt) else None
        return Typed(output=output, status=status)

    def _status(self, deadline: float) -> int | None:
        screen = Screen()
        self._child.send(f"echo {self._marker}$?\r")
        found = re.compile(rf"^{self._marker}(\d+)\s*$")

        def done(s: Screen) -> bool:
            return self._prompt_back(s) and any(found.match(line) for line in s.lines()[1:])

        # At least a few seconds, whatever is left of the command's own bound.
        if not self._read_until(screen, done, max(deadline, time.monotonic() + 5)):
            return None
        for line in screen.lines()[1:]:
            m = found.match(line)
            if m:
                return int(m.group(1))
        return None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._child.isalive():
                for key in self._close_keys:
                    self._child.send(key)
                    # podman reads detach keys one byte per read: keep writes apart.
                    time.sleep(0.05)
                try:
                    self._child.expect(pexpect.EOF, timeout=3)
                except (pexpect.TIMEOUT, pexpect.EOF):
                    pass
                # it has hung up: give it a moment to exit rather than ptyprocess' fixed sleeps
                deadline = time.monotonic() + 1.0
                while self._child.isalive() and time.monotonic() < deadline:
                    time.sleep(0.01)
        finally:
            # pexpect's stubs leave out ptyproc, the ptyprocess.PtyProcess a spawn runs on
            self._child.ptyproc.delayafterclose = 0.0  # type: ignore[attr-defined]
            self._child.close(force=True)
            if self._on_close:
                self._on_close()


def prompt_shape(prompt: str) -> re.Pattern[str]:
    """What the prompt looks like wherever the shell is: the working directory in it changes.

    "root@redis:/data# " after `cd redis` is "root@redis:/data/redis# "; busybox's "/ # " is
    "/tmp # ". The part before the directory and the final # or $ stay.
    """
    m = re.search(r"[/~]", prompt)
    end = prompt.rstrip()[-1:] if prompt.strip() else ""
    if m is None or end not in ("#", "$", ">", "%"):
        return re.compile(re.escape(prompt) + r"\Z")
    return re.compile(re.escape(prompt[:m.start()]) + r"[/~][^\n]*" + re.escape(end) + r" ?\Z")


def _between(lines: list[str], prompt: str | None) -> str:
    """The lines after the echoed command line, without the final prompt."""
    body = lines[1:]
    if prompt is not None and body and body[-1] == prompt:
        body = body[:-1]
    return "\n".join(line.rstrip() for line in body)
