"""In CI a test that would skip fails, except for what no CI machine here can have (kind, a cluster)."""
from pathlib import Path

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py").read_text()
TESTS = '''
import pytest
def test_podman_missing():
    pytest.skip("podman runtime unavailable here: missing podman")
def test_no_kind():
    pytest.skip("no kind binary on PATH: install kind")
def test_runs():
    assert True
'''


def test_in_ci_a_podman_skip_fails_and_a_kind_skip_stays(pytester, monkeypatch):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TESTS)
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*CI=true: this test would have skipped (podman runtime unavailable*"])


def test_outside_ci_both_skip(pytester, monkeypatch):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TESTS)
    monkeypatch.delenv("CI", raising=False)
    pytester.runpytest("-q").assert_outcomes(passed=1, skipped=2)
