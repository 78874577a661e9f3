"""The folder and the file the user means: `conformance run` with no path, single pages
outside any website tree (any name, Markdown or rendered told by content, language from the
front matter, the path or --lang), and the examples URLs as pages write them."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conformance.cli import default_target
from conformance.pages import EXAMPLES_URL_RE, detect_format, discover, load_page, page_language
from conformance.run import PageRun

from .conftest import DOCS, ROOT

MARKDOWN = ("---\ntitle: Notes\n{extra}---\n\nA namespace:\n\n"
            "```yaml\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: notes\n```\n")
RENDERED = ("Un espace de noms\n\nCréez-le avec ce manifeste :\n\napiVersion: v1\nkind: Namespace\n"
            "metadata:\n  name: rendu\n")


# ------------------------------------------------------------------ no path given

def test_no_path_in_a_website_checkout_runs_the_checkout(tmp_path):
    (tmp_path / "content" / "ko" / "docs").mkdir(parents=True)
    assert default_target(tmp_path)[0] == tmp_path


def test_no_path_inside_a_docs_tree_runs_that_folder(tmp_path):
    inside = tmp_path / "content" / "ja" / "docs" / "tasks"
    inside.mkdir(parents=True)
    assert default_target(inside)[0] == inside
    lang_folders = tmp_path / "mine" / "docs"
    (lang_folders / "fr").mkdir(parents=True)
    assert default_target(lang_folders)[0] == lang_folders


def test_no_path_in_a_folder_holding_docs_runs_its_docs(tmp_path):
    (tmp_path / "docs").mkdir()
    target, why = default_target(tmp_path)
    assert target == tmp_path / "docs" and "docs/" in why


def test_no_path_elsewhere_runs_the_projects_docs(tmp_path):
    target, why = default_target(tmp_path)
    assert target == DOCS and "project" in why


def test_the_first_output_line_says_which_folder_runs(tmp_path):
    (tmp_path / "docs" / "en").mkdir(parents=True)      # a docs folder without pages
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run"], cwd=tmp_path, capture_output=True,
                          text=True, check=False, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 2
    assert proc.stdout.splitlines()[0] == f"conformance: running {tmp_path / 'docs'} (the docs/ folder of the current directory)"
    assert "no pages found" in proc.stderr


# ------------------------------------------------------------------ one file, any name

@pytest.mark.parametrize("name", ["notes", "notes.markdown", "notes.txt", "notes.html"])
def test_markdown_is_told_by_content_whatever_the_name(tmp_path, name):
    page = tmp_path / name
    page.write_text(MARKDOWN.format(extra=""))
    loaded = load_page(page)
    assert loaded.format == "markdown" and loaded.front_matter.data["title"] == "Notes"


@pytest.mark.parametrize("name", ["saved", "saved.md", "saved.txt"])
def test_rendered_text_is_told_by_content_whatever_the_name(tmp_path, name):
    page = tmp_path / name
    page.write_text(RENDERED)
    assert load_page(page).format == "rendered"


def test_format_signs():
    assert detect_format("---\ntitle: x\n---\n") == "markdown"
    assert detect_format("Intro\n\n  ~~~shell\n  ls\n  ~~~\n") == "markdown"
    assert detect_format('Intro\n\n{{% code_sample file="pods/a.yaml" %}}\n') == "markdown"
    assert detect_format("Intro:\n\n    kubectl get pods\n") == "rendered"


def test_the_language_of_a_single_page(tmp_path):
    named = tmp_path / "page"
    named.write_text(MARKDOWN.format(extra="lang: ja\n"))
    assert load_page(named).language == "ja" and page_language(named) == "ja"
    by_key = tmp_path / "other.md"
    by_key.write_text(MARKDOWN.format(extra="language: pt-br\n"))
    assert load_page(by_key).language == "pt-br"
    unnamed = tmp_path / "saved.txt"
    unnamed.write_text(RENDERED)
    assert load_page(unnamed).language is None
    assert load_page(unnamed, default_language="fr").language == "fr"
    # the front matter wins over the path
    in_tree = tmp_path / "docs" / "en" / "p.md"
    in_tree.parent.mkdir(parents=True)
    in_tree.write_text(MARKDOWN.format(extra="lang: de\n"))
    assert load_page(in_tree).language == "de"


def test_one_lang_names_a_file_that_names_none_and_filters_the_others(tmp_path):
    unnamed = tmp_path / "saved.txt"
    unnamed.write_text(RENDERED)
    japanese = tmp_path / "ja-page"
    japanese.write_text(MARKDOWN.format(extra="lang: ja\n"))
    assert discover([unnamed], {"fr"}) == [unnamed]
    assert discover([unnamed], {"fr", "ja"}) == []
    assert discover([japanese], {"fr"}) == []
    assert discover([japanese], {"ja"}) == [japanese]


def test_markdown_suffix_in_a_docs_tree(tmp_path):
    page = tmp_path / "docs" / "en" / "a.markdown"
    page.parent.mkdir(parents=True)
    page.write_text(MARKDOWN.format(extra=""))
    assert discover([tmp_path / "docs"]) == [page]


@pytest.mark.slow
def test_a_saved_rendered_page_without_suffix_runs_in_the_language_given(tmp_path):
    from conformance.host import missing_packages
    if missing_packages():
        pytest.skip("the run starts the podman runtime, which cannot run here")
    page = tmp_path / "saved-page"
    page.write_text(RENDERED)
    report = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", str(page), "--lang", "fr",
                           "--json", str(report)], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert out.splitlines()[0] == f"conformance: running {page}"
    data = json.loads(report.read_text())
    [block] = data["blocks"]
    assert block["kind"] == "manifest" and block["verdict"] == "pass" and block["language"] == "fr", block
    assert block["line"] == 5


# ------------------------------------------------------------------ examples URLs

@pytest.mark.parametrize("url", [
    "https://k8s.io/examples/pods/share-process-namespace.yaml",
    "http://k8s.io/examples/pods/share-process-namespace.yaml",
    "https://kubernetes.io/examples/pods/share-process-namespace.yaml",
    "https://www.kubernetes.io/examples/pods/share-process-namespace.yaml",
    "k8s.io/examples/pods/share-process-namespace.yaml",
    "kubernetes.io/examples/pods/share-process-namespace.yaml",
])
def test_every_form_of_the_examples_url_maps_to_the_examples_tree(url):
    assert EXAMPLES_URL_RE.match(url)["path"] == "pods/share-process-namespace.yaml"
    page = load_page(DOCS / "en" / "tasks" / "configure-pod-container" / "share-process-namespace.md")
    run = PageRun(page, lambda: None)
    try:
        assert run._manifest_path(url) == ROOT / "examples" / "pods" / "share-process-namespace.yaml"
    finally:
        run.teardown()


@pytest.mark.parametrize("url", ["https://example.com/examples/pods/a.yaml", "https://k8s.io/docs/a.yaml",
                                 "https://notk8s.io/examples/a.yaml"])
def test_other_urls_are_not_the_examples_tree(url):
    assert EXAMPLES_URL_RE.match(url) is None
