"""The rendered-text lexer: code in text as a reader copies it from the website.

Code has no fences there, sometimes not even indentation, so paragraphs are classified by
their shape (a prompt, a known command, YAML, TOML, assignments, or the not-a-sentence
text after a sentence ending with ':').
"""
from __future__ import annotations

import re

from .blocks import (
    ASSIGNMENT,
    CODE_CHARS,
    KNOWN_COMMANDS,
    LIST_ITEM,
    OUTPUT_WORDS,
    PROMPT_LINE,
    TOML_TABLE,
    YAML_KEY,
    Block,
    dedent,
    line_starts,
)

# a line that is only an examples file name, as the website prints it above a manifest
FILE_NAME_LINE = re.compile(r"^\s*[\w.-]+(?:/[\w.-]+)*\.(?:ya?ml|json)\s*$")


def _is_command_line(stripped: str) -> bool:
    if PROMPT_LINE.match(stripped) and not stripped.startswith("# "):
        return True
    first = stripped.split()[0] if stripped.split() else ""
    return first in KNOWN_COMMANDS or bool(ASSIGNMENT.match(stripped))


def _is_sentence(paragraph: list[str]) -> bool:
    words = " ".join(p.strip() for p in paragraph).split()
    if not words:
        return False
    alphabetic = sum(1 for w in words if re.fullmatch(r"[^\W\d_]+[,.:;!?)]*|\(?[^\W\d_]+", w))
    return len(words) >= 3 and alphabetic / len(words) >= 0.6


def _starts_code(paragraph: list[str]) -> bool:
    first = paragraph[0].strip()
    if _is_command_line(first) or TOML_TABLE.match(first):
        return True
    if YAML_KEY.match(first):
        return len(paragraph) >= 2 or first.split(":")[0] in ("apiVersion", "kind")
    return False


def lex_rendered(text: str) -> list[Block]:
    starts = line_starts(text)
    lines = text.split("\n")
    # paragraphs: runs of non-blank lines; a list item always starts a new one
    paragraphs: list[tuple[int, int]] = []   # [first line index, last line index]
    current: int | None = None
    for index, line in enumerate(lines):
        if not line.strip():
            if current is not None:
                paragraphs.append((current, index - 1))
                current = None
            continue
        # a list item starts a paragraph; so does a command right after a line ending with ':'
        # (rendered list items run straight into their code: "...must be deleted:\n    kubectl ...")
        # and so does a manifest right under its file name ("pods/simple-pod.yaml\napiVersion: v1")
        if current is not None and (LIST_ITEM.match(line) or (
                lines[index - 1].rstrip().endswith(":") and _is_command_line(line.strip())) or (
                FILE_NAME_LINE.match(lines[index - 1]) and YAML_KEY.match(line.strip()))):
            paragraphs.append((current, index - 1))
            current = None
        if current is None:
            current = index
    if current is not None:
        paragraphs.append((current, len(lines) - 1))

    blocks: list[Block] = []
    code: list[tuple[int, int]] = []         # paragraphs of the block being built
    previous_prose = ""
    prose_before_block = ""

    def flush() -> None:
        nonlocal code
        if not code:
            return
        first, last = code[0][0], code[-1][1]
        raw = lines[first:last + 1]
        indent = min(len(l) - len(l.lstrip()) for l in raw if l.strip())
        content = [l.rstrip() for l in dedent(raw, indent)]
        blocks.append(Block(start=starts[first] + indent, end=starts[last] + len(lines[last]),
                            line=first + 1, content_line=first + 1, source="rendered",
                            text="\n".join(content), intro=prose_before_block))
        code = []

    for first, last in paragraphs:
        para = lines[first:last + 1]
        is_list_item = bool(LIST_ITEM.match(para[0]))
        if len(para) == 1 and FILE_NAME_LINE.match(para[0]):
            # the caption of the manifest that follows: prose, read by the run as its file name
            flush()
            previous_prose = para[0].strip()
            continue
        if not is_list_item and _starts_code(para):
            flush()
            prose_before_block = previous_prose
            code = [(first, last)]
            continue
        continuation = (code and not is_list_item and not _is_sentence(para)
                        and (CODE_CHARS.search(" ".join(para)) or para[0].startswith((" ", "\t"))))
        if continuation:
            code.append((first, last))
            continue
        # "The output is similar to:" then text that is not a sentence: that text is output.
        # A bare word after a colon is a heading unless the intro speaks of output.
        after_colon = (not code and previous_prose.rstrip().endswith(":") and not is_list_item
                       and not _is_sentence(para)
                       and (CODE_CHARS.search(" ".join(para)) or OUTPUT_WORDS.search(previous_prose)))
        if after_colon:
            prose_before_block = previous_prose
            code = [(first, last)]
            flush()
            previous_prose = ""
            continue
        flush()
        previous_prose = " ".join(l.strip() for l in para)
        if blocks and not blocks[-1].outro and blocks[-1].end <= starts[first] \
                and not any(b.start > blocks[-1].end for b in blocks):
            blocks[-1].outro = previous_prose          # what the page says right after the block
    flush()
    return blocks
