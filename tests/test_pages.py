"""Discovery, languages, front matter and examples resolution on the three layouts."""
from pathlib import Path

import pytest

from conformance.pages import PageError, discover, examples_dirs_for, language_of, load_page

from .conftest import DOCS, ROOT, SPN


def test_project_docs_are_discovered_with_their_language():
    pages = discover([DOCS])
    found = {(language_of(p), p.name) for p in pages}
    for lang in ("en", "id", "fr", "ja"):
        assert (lang, "share-process-namespace.md") in found
    assert ("id", "share-process-namespace.rendered.txt") in found
    assert ("fr", "share-process-namespace.rendered.txt") in found
    assert not any(p.name == "README.md" for p in pages)


def test_language_filter():
    pages = discover([DOCS], {"ja"})
    assert pages and all(language_of(p) == "ja" for p in pages)


def test_website_layout_and_localized_examples(tmp_path: Path):
    site = tmp_path / "website"
    page = site / "content" / "de" / "docs" / "tasks" / "x.md"
    page.parent.mkdir(parents=True)
    page.write_text("---\ntitle: X\nmin-kubernetes-server-version: v1.29\n---\n\n```shell\nkubectl version\n```\n")
    (site / "content" / "en" / "examples" / "pods").mkdir(parents=True)
    (site / "content" / "en" / "examples" / "pods" / "a.yaml").write_text("kind: Pod\n")
    (site / "content" / "de" / "examples" / "pods").mkdir(parents=True)
    (site / "content" / "de" / "examples" / "pods" / "b.yaml").write_text("kind: Pod\n")
    (site / "node_modules" / "pkg").mkdir(parents=True)
    (site / "node_modules" / "pkg" / "README.md").write_text("# not a page\n")
    # a checkout root: pages under content/ only
    assert discover([site]) == [page]
    loaded = load_page(page)
    assert loaded.language == "de"
    assert loaded.front_matter.min_server_version == (1, 29)
    assert loaded.resolve_example("pods/a.yaml") == site / "content" / "en" / "examples" / "pods" / "a.yaml"
    # the localized copy wins over the English one
    assert loaded.resolve_example("pods/b.yaml") == site / "content" / "de" / "examples" / "pods" / "b.yaml"
    assert examples_dirs_for(page)[0] == site / "content" / "de" / "examples"


def test_project_examples_resolve():
    page = load_page(DOCS / "id" / f"{SPN}.md")
    assert page.resolve_example("pods/share-process-namespace.yaml") == ROOT / "examples/pods/share-process-namespace.yaml"
    assert page.feature_state == "stable since v1.17"
    assert page.front_matter.min_server_version == (1, 10)


def test_rendered_page_gate_and_feature_state():
    page = load_page(DOCS / "fr" / f"{SPN}.rendered.txt")
    assert page.format == "rendered"
    assert page.front_matter.min_server_version == (1, 10)
    assert page.feature_state == "stable since v1.17"


def test_bad_front_matter_names_file_and_line(tmp_path: Path):
    page = tmp_path / "docs" / "en" / "bad.md"
    page.parent.mkdir(parents=True)
    page.write_text("---\ntitle: [unclosed\nweight: 1\n---\nbody\n")
    with pytest.raises(PageError, match=r"bad\.md:\d+: front matter is not valid YAML"):
        load_page(page)
    page.write_text("---\ntitle: x\nbody without end\n")
    with pytest.raises(PageError, match=r"bad\.md:1: front matter opened with --- is never closed"):
        load_page(page)


def test_missing_path_is_an_error():
    with pytest.raises(PageError, match="no such file"):
        discover([Path("/nonexistent/docs")])


def test_pytest_directly_on_a_website_checkout_walks_only_content(tmp_path):
    """`pytest -p conformance.plugin <checkout>` must not wander into node_modules or themes."""
    import subprocess
    import sys
    site = tmp_path / "website"
    page = site / "content" / "en" / "docs" / "p.md"
    page.parent.mkdir(parents=True)
    page.write_text("---\ntitle: p\n---\n\n```yaml\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n```\n")
    (site / "hugo.toml").write_text("title = 'x'\n")
    stray = site / "themes" / "docsy" / "content" / "en" / "docs" / "stray.md"
    stray.parent.mkdir(parents=True)
    stray.write_text("```shell\nkubectl get pods\n```\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "conformance.plugin", "--collect-only", "-q",
                           "-p", "no:cacheprovider", str(site)], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert "p.md::line 5 [manifest]" in proc.stdout, proc.stdout + proc.stderr
    assert "stray.md" not in proc.stdout
