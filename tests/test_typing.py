"""mypy in strict mode over conformance/ (issue 8, item 5), as `nox -s lint` runs it.

CI installs the dev extra (mypy and the stub packages), so there it runs; elsewhere it skips,
saying why. The settings (strict, Python 3.10, the untyped libraries) are pyproject's [tool.mypy].
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_package_type_checks_in_strict_mode():
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed: it is in the dev extra (pip install -e '.[dev]')")
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "conformance"], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


def test_the_type_aliases_live_in_one_module():
    """Like Sybil's sybil/typing.py: the names the signatures use for parsed manifests and reports."""
    from conformance import typing as aliases
    for name in ("Manifest", "ManifestPart", "Documents", "JSONDict", "PageRecord", "PrintedCommand", "Completed"):
        assert hasattr(aliases, name), name
