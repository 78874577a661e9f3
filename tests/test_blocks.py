"""The lexers: Markdown of every markup generation, and rendered text."""
from conformance.lex_markdown import lex_markdown
from conformance.lex_rendered import lex_rendered
from conformance.pages import load_page

from .conftest import DOCS, SPN


def _md(text):
    return lex_markdown(text)


def test_fences_with_and_without_info_string_in_list_items():
    text = ("1. Create it:\n\n    ```shell\n    kubectl apply -f x.yaml\n    ```\n\n"
            "   The output is similar to:\n\n   ```none\n   pod/x created\n   ```\n\n"
            "```\n/ # ps\n```\n\n~~~yaml\nkind: Pod\n~~~\n")
    blocks = _md(text)
    assert [(b.source, b.info, b.text) for b in blocks] == [
        ("fenced", "shell", "kubectl apply -f x.yaml"),
        ("fenced", "none", "pod/x created"),
        ("fenced", "", "/ # ps"),
        ("fenced", "yaml", "kind: Pod"),
    ]
    assert blocks[0].line == 3 and blocks[0].content_line == 4
    assert blocks[1].intro == "The output is similar to:"


def test_shortcodes_all_generations():
    text = ('{{% capture steps %}}\n{{< codenew file="pods/a.yaml" >}}\n{{% codenew file="pods/b.yaml" %}}\n'
            '{{% code_sample file="pods/c.yaml" %}}\n{{< code_sample language="yaml" file="pods/d.yaml" >}}\n'
            '{{% code file="pods/e.yaml" %}}\n{{% /capture %}}\n'
            '## {{% heading "prerequisites" %}}\n{{% prerequisites-heading %}}\n')
    blocks = _md(text)
    assert [(b.info, b.attrs["file"], b.line) for b in blocks] == [
        ("codenew", "pods/a.yaml", 2), ("codenew", "pods/b.yaml", 3), ("code_sample", "pods/c.yaml", 4),
        ("code_sample", "pods/d.yaml", 5), ("code", "pods/e.yaml", 6)]


def test_unclosed_fence_is_a_problem_naming_the_line():
    blocks = _md("text\n\n```shell\nkubectl get pods\n")
    assert blocks[-1].source == "problem"
    assert "opened at line 3 is never closed" in blocks[-1].problem


def test_the_four_markdown_pages_have_the_same_blocks():
    shapes = {}
    for lang in ("en", "id", "fr", "ja"):
        page = load_page(DOCS / lang / f"{SPN}.md")
        blocks = lex_markdown(page.text, body_start=page.front_matter.end_offset)
        shapes[lang] = [(b.source, b.attrs.get("file") or b.info, " ".join(b.text.split())) for b in blocks]
    assert shapes["en"] == shapes["id"] == shapes["fr"] == shapes["ja"]
    assert len(shapes["en"]) == 6


def test_rendered_pages_find_the_same_code_as_the_markdown():
    page = load_page(DOCS / "id" / f"{SPN}.rendered.txt")
    blocks = lex_rendered(page.text)
    firsts = [b.text.split("\n")[0] for b in blocks]
    assert firsts == ["apiVersion: v1",
                      "kubectl apply -f https://k8s.io/examples/pods/share-process-namespace.yaml",
                      "kubectl attach -it nginx -c shell", "/ # ps ax", "/ # kill -HUP 8",
                      "/ # head /proc/8/root/etc/nginx/nginx.conf"]
    # the config excerpt keeps its blank lines and ends at the next heading
    assert blocks[-1].text.rstrip().endswith("worker_connections  1024;")
    # the manifest stops where the list starts
    assert blocks[0].text.rstrip().endswith("tty: true")
    assert blocks[1].line == 38


def test_rendered_output_after_colon_and_headings_after_colon():
    text = ("Run this:\n\nkubectl logs x\n\nand see in the output:\n\nSUCCESS\n\n"
            "There are two kinds of hooks:\n\nPostStart\n\nThis hook runs first.\n")
    blocks = lex_rendered(text)
    assert [b.text for b in blocks] == ["kubectl logs x", "SUCCESS"]


def test_rendered_list_item_running_into_its_command():
    text = "  • The CRD must be deleted by hand:\n    kubectl delete crd x.node.k8s.io\n    \n"
    blocks = lex_rendered(text)
    assert [b.text for b in blocks] == ["kubectl delete crd x.node.k8s.io"]


def test_code_inside_html_comments_is_not_a_block():
    text = ("<!--\n1. Attach:\n\n   ```shell\n   # run this inside the container\n   ps ax\n   ```\n-->\n"
            "1. 附加：\n\n   ```shell\n   # 在容器中运行\n   ps ax\n   ```\n<!-- overview -->\n"
            "<!--\n{{% code_sample file=\"pods/a.yaml\" %}}\n-->\n")
    blocks = lex_markdown(text)
    assert [(b.line, b.text) for b in blocks] == [(11, "# 在容器中运行\nps ax")]


def test_rendered_manifest_right_under_its_file_name_is_a_block():
    text = ("Create the Pod:\n\npods/simple.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n\n"
            "Apply it:\n\nkubectl apply -f https://k8s.io/examples/pods/simple.yaml\n")
    blocks = lex_rendered(text)
    assert [(b.line, b.text.split("\n")[0]) for b in blocks] == [
        (4, "apiVersion: v1"), (11, "kubectl apply -f https://k8s.io/examples/pods/simple.yaml")]
