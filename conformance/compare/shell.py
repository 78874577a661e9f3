"""Just enough shell to find a command line's programs and arguments, with their spans in the line."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    kind: str    # "word", "op" (;, |, &&, >, ...) or "fd" (the 2 of 2>/dev/null)
    raw: str     # the text as typed, quotes included
    value: str   # the word after quote removal
    start: int
    end: int


_OPERATOR_CHARS = ";&|()<>"
_COMMAND_SEPARATORS = frozenset({";", "&", "&&", "|", "||", "|&", "(", ")", ";;"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_PREFIX_COMMANDS = frozenset({"sudo", "exec", "command", "nohup", "time", "busybox"})


def shell_words(command: str) -> list[Word]:
    """Words and operators with their spans; enough shell to find arguments, not a full parser."""
    words: list[Word] = []
    i, n = 0, len(command)
    while i < n:
        char = command[i]
        if char.isspace():
            i += 1
            continue
        if char == "#":
            break  # a comment runs to the end of the line
        if char in _OPERATOR_CHARS:
            j = i + 1
            while j < n and command[j] in _OPERATOR_CHARS and command[i:j + 1] in (
                    "&&", "||", ";;", "|&", ">>", "<<", ">&", "<&", "&>"):
                j += 1
            words.append(Word("op", command[i:j], command[i:j], i, j))
            i = j
            continue
        start, value = i, []
        while i < n and not command[i].isspace() and command[i] not in _OPERATOR_CHARS:
            char = command[i]
            if char == "'":
                end = command.find("'", i + 1)
                end = n if end < 0 else end
                value.append(command[i + 1:end])
                i = end + 1
            elif char == '"':
                i += 1
                while i < n and command[i] != '"':
                    if command[i] == "\\" and i + 1 < n:
                        i += 1
                    value.append(command[i])
                    i += 1
                i += 1
            elif char == "\\" and i + 1 < n:
                value.append(command[i + 1])
                i += 2
            else:
                value.append(char)
                i += 1
        i = min(i, n)
        kind = "fd" if command[start:i].isdigit() and i < n and command[i] in "<>" else "word"
        words.append(Word(kind, command[start:i], "".join(value), start, i))
    return words


def simple_commands(words: list[Word]) -> list[list[Word]]:
    commands: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if word.kind == "op" and word.raw in _COMMAND_SEPARATORS:
            commands.append(current)
            current = []
        else:
            current.append(word)
    commands.append(current)
    return [c for c in commands if c]


def command_name(words: list[Word]) -> tuple[int, str] | None:
    """(index, basename) of the program a simple command runs, past assignments and sudo/exec."""
    for index, word in enumerate(words):
        if word.kind != "word" or _ASSIGNMENT.match(word.value):
            continue
        name = word.value.rsplit("/", 1)[-1]
        if name in _PREFIX_COMMANDS:
            continue
        return index, name
    return None
