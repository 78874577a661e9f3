"""The Markdown lexer on what the website's pages hold beyond plain fences."""
from pathlib import Path

import pytest

from conformance.lex_markdown import HTML_COMMENT, SHORTCODE, code_tokens, lex_markdown
from conformance.pages import load_page

from .conftest import ROOT


def test_indented_code_blocks_are_blocks_with_their_lines():
    text = ("Get a shell:\n\n    kubectl exec -it shell-demo -- /bin/bash\n\n"
            "In your shell, list the root directory:\n\n    root@shell-demo:/# ls /\n\n"
            "1. A list item with indented code under it:\n\n        kubectl get pod x\n\n"
            "   The output shows:\n\n        NAME   READY\n        x      1/1\n")
    blocks = lex_markdown(text)
    assert [(b.source, b.line, b.text) for b in blocks] == [
        ("indented", 3, "kubectl exec -it shell-demo -- /bin/bash"),
        ("indented", 7, "root@shell-demo:/# ls /"),
        ("indented", 11, "kubectl get pod x"),
        ("indented", 15, "NAME   READY\nx      1/1"),
    ]
    assert blocks[1].intro == "In your shell, list the root directory:"
    assert blocks[3].intro == "The output shows:"
    # offsets are the page's: Sybil's regions start on the block's line
    assert text[blocks[2].start:blocks[2].end].strip() == "kubectl get pod x"


def test_indented_text_continuing_a_paragraph_is_not_code():
    # CommonMark: an indented line cannot interrupt a paragraph
    assert lex_markdown("Some prose that goes on\n    and on, indented.\n") == []


def test_tilde_fences_and_long_fences_holding_backticks():
    text = "~~~yaml\nkind: Pod\n~~~\n\n````markdown\n```shell\nls\n```\n````\n"
    blocks = lex_markdown(text)
    assert [(b.info, b.text) for b in blocks] == [("yaml", "kind: Pod"), ("markdown", "```shell\nls\n```")]


def test_highlight_and_tab_codelang_shortcodes_are_code():
    text = ('{{< highlight shell >}}\nkubectl get pods\n{{< /highlight >}}\n\n'
            '{{< tabs name="install" >}}\n{{< tab name="Linux" codelang="bash" >}}\ncurl -LO x\n{{< /tab >}}\n'
            '{{% tab name="Markdown tab" %}}\n```shell\nkubectl version\n```\n{{% /tab %}}\n'
            '{{< tab name="Included" include="included/install.md" />}}\n{{< /tabs >}}\n')
    # a self-closing include tab never opens a code tab that runs to a later /tab
    blocks = lex_markdown(text)
    assert [(b.source, b.info, b.text, b.line) for b in blocks] == [
        ("shortcode-code", "shell", "kubectl get pods", 1),
        ("shortcode-code", "bash", "curl -LO x", 6),
        ("fenced", "shell", "kubectl version", 10),
        ("include", "tab", "", 14),
    ]
    assert blocks[0].content_line == 2 and blocks[3].attrs["include"] == "included/install.md"


def test_fence_inside_a_comment_that_starts_mid_paragraph_is_skipped():
    text = "Prose <!-- the old way:\n\n```shell\nkubectl old\n```\n-->\n\n```shell\nkubectl new\n```\n"
    assert [b.text for b in lex_markdown(text)] == ["kubectl new"]


def test_comment_markers_inside_code_are_code():
    text = "```xml\n<!-- a comment in XML -->\n<a/>\n```\n\n```shell\nls\n```\n"
    assert [b.text for b in lex_markdown(text)] == ["<!-- a comment in XML -->\n<a/>", "ls"]


def test_front_matter_is_not_lexed_and_lines_stay():
    text = "---\ntitle: x\n---\n    indented after front matter? no: a paragraph follows\n\n```shell\nls\n```\n"
    page_body = text.index("    indented")
    blocks = lex_markdown(text, body_start=page_body)
    assert [(b.source, b.line) for b in blocks] == [("indented", 4), ("fenced", 6)]


def _pages() -> list[Path]:
    folders = [ROOT / "docs", ROOT / "tests" / "data"]
    return sorted(p for folder in folders for p in folder.rglob("*.md")
                  if p.name != "README.md" and "malformed" not in p.parts and "hostile" not in p.parts)


@pytest.mark.parametrize("path", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_code_block_the_parser_sees_is_a_block(path):
    """markdown-it's own code tokens (outside HTML comments) and every example shortcode:
    the lexer's blocks are exactly those, none more, none fewer."""
    page = load_page(path)
    body = page.front_matter.end_offset
    masked = "\n" * page.text.count("\n", 0, body) + page.text[body:]
    comment_lines = {n for m in HTML_COMMENT.finditer(masked)
                     for n in range(masked.count("\n", 0, m.start()), masked.count("\n", 0, m.end()) + 1)}
    expected = sorted(t.map[0] + 1 for t in code_tokens(masked) if t.map[0] not in comment_lines)
    expected += [masked.count("\n", 0, m.start()) + 1 for m in SHORTCODE.finditer(masked)
                 if masked.count("\n", 0, m.start()) not in comment_lines]
    blocks = lex_markdown(page.text, body_start=body)
    found = [b.line for b in blocks if b.source in ("fenced", "indented", "shortcode", "problem")]
    assert sorted(found) == sorted(expected), path
