import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SPN = "tasks/configure-pod-container/share-process-namespace"


@pytest.fixture
def root() -> Path:
    return ROOT


# In CI this machine can always run podman, busybox and the linters: a test that would skip
# there hides a broken install step, so it fails instead. Only what no CI machine here can
# have (a kind binary and node image, a cluster's kubeconfig, a reachable registry) may skip.
CI_MAY_SKIP = ("kind", "kubeconfig", "a registry answers here", "no kubectl")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (_in_ci() and report.skipped and call.excinfo is not None):
        return
    reason = str(call.excinfo.value)
    if any(word in reason for word in CI_MAY_SKIP) or item.get_closest_marker("skipif") is not None:
        return
    report.outcome = "failed"
    report.longrepr = f"CI=true: this test would have skipped ({reason}); in CI it must run"
