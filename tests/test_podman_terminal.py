"""The terminal side of interactive sessions: rendering what a PTY shows, typing at a prompt.

The rendering tests replay bytes recorded from a real `podman attach` to busybox
(tests/data/runtime/busybox-attach.json); the session tests drive a real busybox shell on
a local PTY (the same line editor as in the container: prompt redraws, ESC[6n queries).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pexpect
import pytest

from conformance.runtime import StepError
from conformance.runtime.terminal import PtySession, Screen, render, strip_escapes

DATA = Path(__file__).resolve().parent / "data" / "runtime"
RECORDED = json.loads((DATA / "busybox-attach.json").read_text())["exchanges"]


# --- escapes and rendering -------------------------------------------------------------------

@pytest.mark.parametrize("raw, text", [
    ("/ # \x1b[6n", "/ # "),                                   # busybox's cursor position query
    ("\x1b[1mbold\x1b[0m", "bold"),                             # SGR
    ("\x1b]0;title\x07prompt$ ", "prompt$ "),                    # OSC window title
    ("\x1b[?2004hls\x1b[?2004l", "ls"),                          # bracketed paste mode
    ("a\x07b", "ab"),                                            # bell
    ("\x1b(Bplain", "plain"),                                    # charset designation
])
def test_strip_escapes(raw, text):
    assert strip_escapes(raw) == text


def test_render_applies_carriage_return_redraws():
    # a prompt redrawn over itself, then the typed command: one line, as on a screen
    assert render("/ # \x1b[6n\r/ # \x1b[Jps ax") == "/ # ps ax"


def test_render_erase_and_cursor_moves():
    assert render("abcdef\x1b[3D\x1b[K") == "abc"
    assert render("abc\bX") == "abX"
    assert render("ab\x1b[2Cc") == "ab  c"
    assert render("one\r\ntwo\x1b[A\rONE") == "ONE\ntwo"      # cursor up, same column
    assert render("a\tb") == "a       b"


def test_render_keeps_an_unfinished_escape_for_the_next_chunk():
    screen = Screen()
    screen.feed("x\x1b[")
    screen.feed("1mY")
    assert screen.text() == "xY"


@pytest.mark.parametrize("exchange", RECORDED[1:], ids=lambda e: e["sent"].strip()[:20])
def test_recorded_podman_attach_renders_to_what_the_session_returned(exchange):
    lines = Screen()
    lines.feed(exchange["received"])
    text = lines.text()
    assert "\x1b" not in text
    # the first line is the echoed command, the output follows, then the status probe
    rendered = text.splitlines()
    assert rendered[0] == exchange["sent"].rstrip("\r")
    assert "\n".join(rendered[1:]).startswith(exchange["output"])


def test_recorded_first_prompt():
    first = RECORDED[0]
    assert render(first["received"]).splitlines()[-1] == first["prompt"].rstrip()
    assert first["prompt"] == "/ # "


# --- a real busybox shell on a PTY --------------------------------------------------------------

BUSYBOX = shutil.which("busybox")


@pytest.fixture
def busybox_session(tmp_path):
    if BUSYBOX is None:
        pytest.skip("busybox is not installed (apt-get install busybox-static)")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PS1": "/ # ", "TERM": "xterm", "ENV": ""}
    child = pexpect.spawn(BUSYBOX, ["sh", "-i"], env=env, cwd=str(tmp_path), encoding="utf-8",
                          dimensions=(40, 200), timeout=10)
    session = PtySession(child, close_keys=["\x04"], description="local busybox")
    yield session
    session.close()
    assert not child.isalive()


def test_session_learns_the_prompt(busybox_session):
    assert busybox_session.prompt == "/ # "


def test_session_output_and_status(busybox_session):
    typed = busybox_session.type("echo one; echo two")
    assert typed.output == "one\ntwo"
    assert typed.status == 0
    typed = busybox_session.type("ls /no-such-file-here")
    assert "No such file" in typed.output
    assert typed.status not in (None, 0)


def test_session_strips_escapes_from_output(busybox_session):
    typed = busybox_session.type("printf '\\033[1mbold\\033[0m plain\\n'")
    assert typed.output == "bold plain"
    assert "\x1b" not in typed.output


def test_session_status_probe_forks_nothing(tmp_path):
    # the status line is `echo <marker>$?`: builtins only, so the shell's next child gets
    # the PID right after the previous one. In a PID namespace of its own (as in a pod),
    # no other process on the machine can take a PID in between.
    if BUSYBOX is None or shutil.which("unshare") is None:
        pytest.skip("needs busybox and unshare")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PS1": "/ # ", "TERM": "xterm", "ENV": ""}
    child = pexpect.spawn("unshare", ["--pid", "--fork", "--mount-proc", BUSYBOX, "sh", "-i"], env=env,
                          cwd=str(tmp_path), encoding="utf-8", dimensions=(40, 200), timeout=10)
    try:
        session = PtySession(child, close_keys=["\x04"], description="busybox in its own PID namespace")
    except StepError as err:
        child.close(force=True)
        pytest.skip(f"cannot make a PID namespace here: {err.diagnostics[-200:]}")
    try:
        first = int(session.type("sh -c 'echo $$'").output)
        second = int(session.type("sh -c 'echo $$'").output)
        assert second == first + 1
    finally:
        session.close()


def test_session_follows_a_prompt_that_shows_the_working_directory(tmp_path):
    # bash's "user@host:/dir# " changes with `cd`: the session must still see it come back
    bash = shutil.which("bash")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PS1": "root@pod:\\w# ", "TERM": "xterm"}
    child = pexpect.spawn(bash, ["--norc", "--noprofile", "-i"], env=env, cwd="/", encoding="utf-8",
                          dimensions=(40, 200), timeout=10)
    session = PtySession(child, close_keys=["\x04"], description="local bash")
    try:
        assert session.prompt == "root@pod:/# "
        typed = session.type("cd /usr/share", timeout=5)
        assert typed.status == 0 and session.prompt == "root@pod:/usr/share# "
        typed = session.type("pwd", timeout=5)
        assert typed.output == "/usr/share" and typed.status == 0
    finally:
        session.close()


def test_session_empty_output(busybox_session):
    typed = busybox_session.type("true")
    assert typed.output == ""
    assert typed.status == 0


def test_session_timeout_is_bounded(busybox_session):
    with pytest.raises(StepError, match="no prompt"):
        busybox_session.type("sleep 2", timeout=0.5)


def test_session_rejects_multiple_lines(busybox_session):
    with pytest.raises(StepError):
        busybox_session.type("echo a\necho b")


def test_session_exit_ends_it(busybox_session):
    typed = busybox_session.type("exit")
    assert typed.status is None
    busybox_session.close()


def test_no_prompt_is_an_error(tmp_path):
    child = pexpect.spawn("/bin/cat", [], encoding="utf-8", timeout=5, env={"PATH": os.defpath})
    with pytest.raises(StepError, match="no prompt"):
        PtySession(child, description="cat", start_timeout=0.5)
    child.close(force=True)


def test_output_without_a_final_newline_then_the_prompt(busybox_session):
    # a file with no final newline: the prompt follows its last line on the same screen line
    typed = busybox_session.type("printf 'zone=\"us-est-coast\"'", timeout=5)
    assert typed.output == 'zone="us-est-coast"'
    assert typed.status == 0 and busybox_session.prompt == "/ # "
    assert busybox_session.type("echo next", timeout=5).output == "next"
