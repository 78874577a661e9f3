"""Translated pages against English: same commands, manifests, outputs and gate."""
from pathlib import Path

from conformance.translations import compare_with_english, english_counterpart

from .conftest import DOCS, SPN


def test_the_translations_in_docs_are_the_english_page():
    for name in (f"id/{SPN}.md", f"fr/{SPN}.md", f"ja/{SPN}.md", f"id/{SPN}.rendered.txt", f"fr/{SPN}.rendered.txt"):
        report = compare_with_english(DOCS / name)
        assert report.english and report.english.endswith(f"en/{SPN}.md")
        assert report.same, (name, report.differences)


def _site(tmp_path: Path, edit) -> Path:
    for lang in ("en", "de"):
        page = tmp_path / "content" / lang / "docs" / "t.md"
        page.parent.mkdir(parents=True)
        text = (DOCS / "en" / f"{SPN}.md").read_text()
        page.write_text(edit(text) if lang == "de" else text)
    examples = tmp_path / "content" / "en" / "examples" / "pods"
    examples.mkdir(parents=True)
    examples.joinpath("share-process-namespace.yaml").write_text((DOCS.parent / "examples/pods/share-process-namespace.yaml").read_text())
    return tmp_path / "content" / "de" / "docs" / "t.md"


def test_differences_are_named(tmp_path):
    page = _site(tmp_path, lambda t: t.replace("kill -HUP 8", "kill -TERM 8")
                 .replace("min-kubernetes-server-version: v1.10", "min-kubernetes-server-version: v1.9")
                 .replace("   15 root      0:00 sh\n       21", "   15 root      0:00 bash\n       21"))
    assert english_counterpart(page) == tmp_path / "content" / "en" / "docs" / "t.md"
    report = compare_with_english(page)
    text = " | ".join(report.differences)
    assert not report.same
    assert "version gate: v1.9 vs English v1.10" in text
    assert "command `kill -TERM 8` vs `kill -HUP 8`" in text
    assert "expected output differs" in text and "bash" in text


def test_translated_comments_and_lost_whitespace_do_not_count(tmp_path):
    page = _site(tmp_path, lambda t: t.replace("    8 root      0:00 nginx: master", "8 root 0:00 nginx: master")
                 .replace("Create the Pod", "Erstellen Sie den Pod"))
    # a localized copy of the example whose YAML comments are translated: the same manifest as data
    english = tmp_path / "content" / "en" / "examples" / "pods" / "share-process-namespace.yaml"
    localized = tmp_path / "content" / "de" / "examples" / "pods" / "share-process-namespace.yaml"
    localized.parent.mkdir(parents=True)
    localized.write_text("# Ein Pod mit gemeinsamem Prozess-Namespace\n" + english.read_text()
                         .replace("shareProcessNamespace: true", "shareProcessNamespace: true  # geteilt"))
    assert compare_with_english(page).same
    # the same file with a changed value is a difference: the comparison does read it
    localized.write_text(english.read_text().replace("shareProcessNamespace: true", "shareProcessNamespace: false"))
    assert not compare_with_english(page).same


def test_a_missing_block_is_named(tmp_path):
    page = _site(tmp_path, lambda t: t.replace("```shell\n    kubectl attach -it nginx -c shell\n    ```\n", ""))
    report = compare_with_english(page)
    assert any("is missing here" in d for d in report.differences), report.differences
