"""The Markdown lexer: every code block a Hugo page of the website holds.

CommonMark itself is markdown-it-py's job (the website renders with Goldmark, also
CommonMark): fenced blocks with backticks or tildes at any indentation, inside list items,
and indented code blocks, each with the page line it starts on. What CommonMark does not
know is Hugo's, and is found here around the parser:

- the example shortcodes `codenew`, `code_sample`, `code` (with `{{< >}}` or `{{% %}}`):
  a manifest pulled in from the examples tree;
- `{{< highlight LANG >}} ... {{< /highlight >}}` and the old tabs form
  `{{< tab name="..." codelang="bash" >}} ... {{< /tab >}}`: code without a fence;
- `{{< tab name="..." include="file.md" />}}`: a tab whose content is another file;
- HTML comments: not shown to readers (translations keep the English original there,
  code blocks included), so nothing inside one is a block.

The front matter is masked (its lines kept, blank) so that line numbers stay the page's.
"""
from __future__ import annotations

import re
import textwrap

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .blocks import Block, intro_from, line_starts

SHORTCODE = re.compile(
    r"\{\{(?P<delim>[<%])\s*(?P<name>codenew|code_sample|code)\s+(?P<args>[^}]*?)\s*/?[>%]\}\}")
SHORTCODE_ARG = re.compile(r'(?P<key>[\w-]+)\s*=\s*"(?P<value>[^"]*)"')
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# code between a shortcode and its closing tag: highlight, and tab with codelang
CODE_SHORTCODE = re.compile(
    r"\{\{[<%]\s*(?P<name>highlight|tab)\b(?P<args>[^}]*?)\s*(?<!/)[>%]\}\}(?P<body>.*?)"
    r"\{\{[<%]\s*/(?P=name)\s*[>%]\}\}", re.DOTALL)
TAB_INCLUDE = re.compile(r"\{\{[<%]\s*tab\b(?P<args>[^}]*?\binclude\s*=[^}]*?)/?\s*[>%]\}\}")

_PARSER = MarkdownIt("commonmark")


def _blank(text: str, start: int, end: int) -> str:
    """Text with [start, end) replaced by spaces, its newlines kept (line numbers stay)."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def code_tokens(text: str) -> list[Token]:
    """markdown-it's code tokens (fence, code_block) of a text: the parser's own view."""
    return [t for t in _PARSER.parse(text) if t.type in ("fence", "code_block") and t.map]


def _lines_of(token: Token) -> tuple[int, int]:
    """A code token's first and last line (0-based); code_tokens keeps only tokens that have a map."""
    assert token.map is not None
    return token.map[0], token.map[1] - 1


def _info(raw: str) -> str:
    words = raw.strip().split()
    return words[0].strip("{}.").lower() if words else ""


def _code_shortcodes(text: str, blocks: list[Block], starts: list[int]) -> str:
    """Take highlight and tab-with-codelang blocks and tab includes; return the text without them."""
    for m in CODE_SHORTCODE.finditer(text):
        args = {a["key"]: a["value"] for a in SHORTCODE_ARG.finditer(m["args"])}
        if m["name"] == "tab" and "codelang" not in args:
            continue               # a tab of Markdown: its fences are CommonMark's
        info = args.get("codelang", "") if m["name"] == "tab" else _info(m["args"])
        body = m["body"]
        lead = len(body) - len(body.lstrip("\n"))
        content_start = m.start("body") + lead
        lines = body.strip("\n").split("\n")
        indent = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
        blocks.append(Block(start=m.start(), end=m.end(), line=_line(starts, m.start()),
                            content_line=_line(starts, content_start), source="shortcode-code", info=info,
                            text="\n".join(ln[indent:].rstrip() for ln in lines), attrs=args))
        text = _blank(text, m.start(), m.end())
    for m in TAB_INCLUDE.finditer(text):
        args = {a["key"]: a["value"] for a in SHORTCODE_ARG.finditer(m["args"])}
        blocks.append(Block(start=m.start(), end=m.end(), line=_line(starts, m.start()),
                            content_line=_line(starts, m.start()), source="include", info="tab", attrs=args))
        text = _blank(text, m.start(), m.end())
    return text


def _line(starts: list[int], offset: int) -> int:
    """1-based line of a character offset."""
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo + 1


def lex_markdown(text: str, body_start: int = 0) -> list[Block]:
    """Every block of a Hugo Markdown page, in page order; body_start skips the front matter."""
    starts = line_starts(text)
    lines = text.split("\n")
    masked = _blank(text, 0, body_start) if body_start else text
    blocks: list[Block] = []
    masked = _code_shortcodes(masked, blocks, starts)
    tokens = code_tokens(masked)
    code_spans = [(starts[first], _line_end(starts, lines, last)) for first, last in map(_lines_of, tokens)]

    def in_code(offset: int) -> bool:
        return any(s <= offset < e for s, e in code_spans)

    comments = [(m.start(), m.end()) for m in HTML_COMMENT.finditer(masked) if not in_code(m.start())]

    def in_comment(offset: int) -> bool:
        return any(s <= offset < e for s, e in comments)

    for token in tokens:
        first, last = _lines_of(token)
        start = starts[first]
        if in_comment(start + len(lines[first]) - len(lines[first].lstrip())):
            continue
        end = _line_end(starts, lines, last)
        if token.type == "code_block":
            blocks.append(Block(start=start, end=end, line=first + 1, content_line=first + 1,
                                source="indented", text=textwrap.dedent(token.content).rstrip("\n")))
            continue
        fence = token.markup
        closing = re.compile(r"[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*")
        if last == first or not closing.fullmatch(lines[last]):
            blocks.append(Block(start=start, end=len(text), line=first + 1, content_line=first + 2,
                                source="problem", info=_info(token.info),
                                problem=f"code fence {fence} opened at line {first + 1} is never closed "
                                        f"(expected a line with {fence} at the end of the block)"))
            continue
        blocks.append(Block(start=start, end=end, line=first + 1, content_line=first + 2, source="fenced",
                            info=_info(token.info), text=token.content.rstrip("\n")))
    for m in SHORTCODE.finditer(masked):
        if in_code(m.start()) or in_comment(m.start()):
            continue
        attrs = {a["key"]: a["value"] for a in SHORTCODE_ARG.finditer(m["args"])}
        blocks.append(Block(start=m.start(), end=m.end(), line=_line(starts, m.start()),
                            content_line=_line(starts, m.start()), source="shortcode", info=m["name"],
                            attrs=attrs))
    blocks.sort(key=lambda b: b.start)
    _add_intros(blocks, masked, comments, starts)
    # an unclosed fence swallows the rest of the page: nothing after it is a block
    problem = next((i for i, b in enumerate(blocks) if b.source == "problem"), None)
    return blocks if problem is None else blocks[:problem + 1]


def _line_end(starts: list[int], lines: list[str], index: int) -> int:
    return starts[index] + len(lines[index])


def _add_intros(blocks: list[Block], masked: str, comments: list[tuple[int, int]],
                starts: list[int]) -> None:
    """Each block's intro (the last prose paragraph between it and the block before it) and
    outro (the first paragraph after it, before the next block): what the page says of it."""
    for comment_start, comment_end in comments:
        masked = _blank(masked, comment_start, comment_end)
    previous_end = 0
    for index, block in enumerate(blocks):
        prose = masked[previous_end:block.start]
        block.intro = intro_from(SHORTCODE.sub("", prose).split("\n"))
        following = blocks[index + 1].start if index + 1 < len(blocks) else len(masked)
        after = SHORTCODE.sub("", masked[block.end:max(block.end, following)]).split("\n")
        block.outro = intro_from(_first_paragraph(after))
        previous_end = max(previous_end, block.end)


def _first_paragraph(lines: list[str]) -> list[str]:
    paragraph: list[str] = []
    for line in lines:
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.append(line)
    return paragraph
