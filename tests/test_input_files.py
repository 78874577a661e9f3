"""Bad files are page problems: undecodable, binary, empty, UTF-16 or unreadable files under a
docs folder are a failing `problem` item at file:line with the reason, and every other page
still runs. UTF-8 with a byte-order mark and CRLF line ends are ordinary pages."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.pages import PageReadError, discover, load_page, read_page_text

from .conftest import ROOT

GOOD = ("---\ntitle: Good\nmin-kubernetes-server-version: v1.10\n---\n\nA namespace:\n\n"
        "```yaml\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: good\n```\n")


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------ reading one file

@pytest.mark.parametrize("data, line, words", [
    (b"---\ntitle: x\n---\n\ncaf\xe9 au lait\n", 5, "not UTF-8 (byte 0xe9"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 3, "binary content (a NUL byte"),
    (b"", 1, "the file is empty"),
    (b" \n\n\t\n", 1, "the file is empty"),
    (b"\xef\xbb\xbf\n", 1, "the file is empty"),
    ("---\ntitle: x\n---\n".encode("utf-16"), 1, "the file is UTF-16"),
])
def test_unreadable_text_is_a_page_error_at_its_line(tmp_path, data, line, words):
    page = _write(tmp_path / "docs" / "en" / "bad.md", data)
    with pytest.raises(PageReadError) as caught:
        read_page_text(page)
    assert str(caught.value).startswith(f"{page}:{line}: ")
    assert words in str(caught.value) and "expected" in str(caught.value)
    assert caught.value.line == line


def test_a_file_that_cannot_be_opened_is_a_page_error(tmp_path, monkeypatch):
    page = _write(tmp_path / "docs" / "en" / "locked.md", GOOD.encode())
    real = Path.read_bytes

    def denied(self):
        if self == page:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(PageReadError, match=r"locked\.md:1: cannot read the file: Permission denied"):
        read_page_text(page)


def test_bom_and_crlf_pages_are_ordinary_pages(tmp_path):
    crlf = GOOD.replace("\n", "\r\n").encode()
    page = _write(tmp_path / "docs" / "en" / "crlf.md", b"\xef\xbb\xbf" + crlf)
    assert read_page_text(page) == GOOD
    loaded = load_page(page)
    assert loaded.format == "markdown"
    assert loaded.front_matter.data["title"] == "Good"
    assert loaded.front_matter.min_server_version == (1, 10)
    assert loaded.text == GOOD
    # old Mac line ends (CR only) too
    cr = _write(tmp_path / "docs" / "en" / "cr.md", GOOD.replace("\n", "\r").encode())
    assert load_page(cr).front_matter.data["title"] == "Good"


# ------------------------------------------------------------------ a whole run

def _tree(tmp_path: Path) -> dict[str, Path]:
    docs = tmp_path / "docs" / "en" / "tasks"
    files = {
        "good": _write(docs / "good.md", GOOD.encode()),
        "bom-crlf": _write(docs / "bom-crlf.md", b"\xef\xbb\xbf" + GOOD.replace("good", "crlf")
                           .replace("\n", "\r\n").encode()),
        "latin1": _write(docs / "latin1.md", GOOD.replace("A namespace", "Un espace de noms d\xe9fini")
                         .encode("latin-1")),
        "binary": _write(docs / "image.md", b"GIF89a\x01\x00\x00\x00\xff\xff"),
        "empty": _write(docs / "empty.txt", b""),
        "utf16": _write(docs / "utf16.md", GOOD.encode("utf-16")),
    }
    return files


def _run(tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    report = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", *args, "--json", str(report)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    data = json.loads(report.read_text()) if report.exists() else {}
    return proc.returncode, data, proc.stdout + proc.stderr


def _podman_or_skip() -> None:
    from conformance.host import missing_packages
    missing = missing_packages()
    if missing:
        pytest.skip("the run starts the podman runtime: missing " + ", ".join(t.package for t in missing))


def test_discovery_keeps_bad_files_as_pages(tmp_path):
    files = _tree(tmp_path)
    assert set(discover([tmp_path / "docs"])) == set(files.values())


def test_collection_does_not_crash_on_bad_files(tmp_path):
    """The old code aborted the whole collection with UnicodeDecodeError."""
    _tree(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "conformance.plugin", "-p", "no:cacheprovider",
                           "--collect-only", "-q", "docs"], cwd=tmp_path, capture_output=True, text=True,
                          check=False, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "UnicodeDecodeError" not in out
    for name, line in (("latin1.md", 6), ("image.md", 1), ("empty.txt", 1), ("utf16.md", 1)):
        assert f"{name}::line {line} [problem]" in out, out
    assert "good.md::line 8 [manifest]" in out and "bom-crlf.md::line 8 [manifest]" in out


@pytest.mark.slow
def test_bad_files_fail_as_problems_and_every_other_page_runs(tmp_path):
    _podman_or_skip()
    _tree(tmp_path)
    code, data, out = _run(tmp_path, "docs")
    assert code == 1, out
    by_file = {}
    for block in data["blocks"]:
        by_file.setdefault(Path(block["path"]).name, []).append(block)
    for name, words in (("latin1.md", "latin1.md:6: not UTF-8"), ("image.md", "image.md:1: binary content"),
                        ("empty.txt", "empty.txt:1: the file is empty"), ("utf16.md", "utf16.md:1: the file is UTF-16")):
        [block] = by_file[name]
        assert block["kind"] == "problem" and block["verdict"] == "fail", block
        assert words in block["reason"] and "expected" in block["reason"], block
    for name in ("good.md", "bom-crlf.md"):
        [block] = by_file[name]
        assert block["kind"] == "manifest" and block["verdict"] == "pass", block
