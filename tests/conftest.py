from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SPN = "tasks/configure-pod-container/share-process-namespace"


@pytest.fixture
def root() -> Path:
    return ROOT
