"""Manifests as the website writes them: timestamps, `...` elisions; and the package on Python 3.10."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.manifests import ELIDED_NOTE, check_snippet, load_all, validate_manifest
from conformance.verdict import Verdict

from .conftest import ROOT

POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n{meta}spec:\n  containers:\n  - name: a\n    image: busybox\n"


# ------------------------------------------------------------------ timestamps

def test_timestamps_stay_strings_and_validate():
    text = POD.format(meta="  creationTimestamp: 2024-01-01T00:00:00Z\n")
    assert load_all(text)[0]["metadata"]["creationTimestamp"] == "2024-01-01T00:00:00Z"
    outcome = validate_manifest(text).outcome()
    assert outcome.verdict == Verdict.PASS, outcome.reason
    assert "datetime" not in outcome.reason


def test_kubectl_get_output_with_timestamps_in_status_validates():
    text = POD.format(meta="  creationTimestamp: \"2024-01-01T00:00:00Z\"\n") + (
        "status:\n  phase: Running\n  startTime: 2024-05-02T10:11:12Z\n"
        "  conditions:\n  - type: Ready\n    status: \"True\"\n    lastTransitionTime: 2024-05-02T10:11:13Z\n")
    outcome = validate_manifest(text).outcome()
    assert outcome.verdict == Verdict.PASS, outcome.reason


def test_a_real_type_error_next_to_a_timestamp_still_fails():
    text = POD.format(meta="  creationTimestamp: 2024-01-01T00:00:00Z\n  labels: 3\n")
    outcome = validate_manifest(text).outcome()
    assert outcome.verdict == Verdict.FAIL
    assert "metadata.labels" in outcome.reason and "got int" in outcome.reason


# ------------------------------------------------------------------ elisions

ELIDED = {
    "top": "...\n" + POD.format(meta=""),
    "after kind": "apiVersion: apps/v1\nkind: Deployment\n...\nspec:\n  template:\n    spec:\n"
                  "      containers:\n      - name: a\n        image: x\n",
    "middle": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  ...\n"
              "  volumes:\n  - name: v\n    emptyDir: {}\n",
    "indented": POD.format(meta="  labels:\n    app: a\n    ...\n"),
    "comment": POD.format(meta="  # ...\n"),
    "ellipsis character": POD.format(meta="  …\n"),
}


@pytest.mark.parametrize("name", sorted(ELIDED))
def test_elided_manifests_pass_as_fragments_with_the_note(name):
    outcome = validate_manifest(ELIDED[name]).outcome()
    assert outcome.verdict == Verdict.PASS, outcome.reason
    assert ELIDED_NOTE in outcome.reason


def test_elided_piece_deeper_than_what_follows_is_checked_piece_by_piece():
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  ...\n    deep: 1\nspec:\n  containers: []\n"
    outcome = validate_manifest(text).outcome()
    assert outcome.verdict == Verdict.PASS, outcome.reason
    assert ELIDED_NOTE in outcome.reason and "no schema was checked" in outcome.reason


def test_what_an_elided_manifest_shows_is_still_checked():
    # a type error in the part the page shows is a fail, elision or not
    text = "apiVersion: v1\nkind: Pod\n...\nspec:\n  containers:\n  - name: a\n    image: b\n    ports: 3\n"
    outcome = validate_manifest(text).outcome()
    assert outcome.verdict == Verdict.FAIL
    assert "spec.containers[0].ports" in outcome.reason
    # and broken YAML around an elision is still broken YAML, at its page line
    broken = validate_manifest("apiVersion: v1\nkind: Pod\n...\nspec:\n  containers: [\n", first_line=10)
    assert broken.outcome().verdict == Verdict.FAIL and "not valid YAML" in broken.outcome().reason


def test_elided_manifest_missing_required_fields_is_not_judged_complete():
    # no containers (required) and an empty key before `...`: the gaps, not errors
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  ...\n"
    outcome = validate_manifest(text).outcome()
    assert outcome.verdict == Verdict.PASS, outcome.reason
    # without the elision the same text is a fail (it claims to be complete)
    complete = validate_manifest(text.replace("  ...\n", "")).outcome()
    assert complete.verdict == Verdict.FAIL


@pytest.mark.parametrize("text", [
    "...\n  containers:\n  - name: a\n    image: b\n",
    "spec:\n  replicas: 3\n  ...\n  template:\n    metadata:\n      labels:\n        app: a\n",
    "spec:\n  a: 1\n  ...\n    b: 2\n",
])
def test_elided_yaml_snippets_pass_with_the_note(text):
    outcome = check_snippet(text, "yaml")
    assert outcome.verdict == Verdict.PASS, outcome.reason
    assert ELIDED_NOTE in outcome.reason


def test_broken_elided_snippet_still_fails():
    assert check_snippet("spec:\n  a: [\n  ...\n", "yaml").verdict == Verdict.FAIL


# ------------------------------------------------------------------ Python 3.10

def _modules() -> list[Path]:
    return sorted((ROOT / "conformance").rglob("*.py"))


def test_the_package_keeps_to_python_3_10():
    """vermin (a static minimum-version checker) over every module, targeting 3.10.

    vermin knows the standard library's history (tomllib is 3.11) and honours an import
    guarded by `except ModuleNotFoundError`, so an unconditional `import tomllib` fails here.
    """
    vermin = shutil.which("vermin", path=str(Path(sys.executable).parent)) or shutil.which("vermin")
    if vermin is None:
        pytest.fail("vermin is not installed: it is in the dev extra (pip install -e '.[dev]')")
    proc = subprocess.run([vermin, "--target=3.10-", "--violations", "--no-tips", "--eval-annotations",
                           "--backport", "typing", *map(str, _modules())],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_module_parses_with_the_3_10_grammar():
    """The interpreter's own parser, told to accept only 3.10 syntax (except*, PEP 695, ...)."""
    import ast
    for path in _modules():
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 10))


def test_vermin_waivers_are_only_on_guarded_imports():
    """`# novermin` hides a line from vermin: allowed only on an import with an ImportError fallback."""
    import ast
    for path in _modules():
        source = path.read_text(encoding="utf-8")
        waived = {n for n, line in enumerate(source.splitlines(), 1) if "novermin" in line}
        guarded = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Try) and any(
                    isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                    for h in node.handlers):
                guarded |= {n.lineno for n in node.body if isinstance(n, (ast.Import, ast.ImportFrom))}
        assert waived <= guarded, f"{path}: novermin on lines {sorted(waived - guarded)} outside a guarded import"


def test_toml_snippets_parse_without_tomllib():
    """As on 3.10: no tomllib (None in sys.modules makes its import fail); manifests.py takes tomli."""
    pytest.importorskip("tomli")
    code = ("import sys; sys.modules['tomllib'] = None\n"
            "import conformance.manifests as m\n"
            "from conformance.verdict import Verdict\n"
            "assert m.tomllib.__name__ == 'tomli', m.tomllib\n"
            "assert m.check_snippet('[server]\\nport = 8080\\n', 'toml').verdict == Verdict.PASS\n"
            "assert m.check_snippet('[server\\nport = 8080\\n', 'toml').verdict == Verdict.FAIL\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
