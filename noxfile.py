"""nox sessions: `conformance` (the main job), `matrix`, `tests`, `lint`.

  nox -s conformance                       every page in docs/ on podman
  nox -s conformance -- docs/ja --strict   arguments after -- go to `conformance run`
  nox -s conformance -- --runtime kind --kubernetes-version 1.34
  nox -s matrix                            every CI version on kind, then one summary table
  nox -s tests                             the project's own tests
  nox -s lint
"""
from __future__ import annotations

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent))
from conformance.versions import ci_matrix

nox.options.sessions = ["conformance"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"


def _install(session: nox.Session) -> None:
    session.install("-q", "-e", ".[dev]")
    # host tools for the podman runtime (apt-get as root; says what is missing otherwise)
    session.run("conformance", "setup")


@nox.session
def conformance(session: nox.Session) -> None:
    """Run pages (default: every page in docs/ on podman)."""
    _install(session)
    args = list(session.posargs)
    if not any(a in ("--json",) for a in args):
        args += ["--json", "reports/conformance.json"]
    session.run("conformance", "run", *args)


@nox.session
@nox.parametrize("version", ci_matrix())
def matrix(session: nox.Session, version: str) -> None:
    """One kind cluster per Kubernetes version of the CI matrix."""
    _install(session)
    session.run("conformance", "run", "--runtime", "kind", "--kubernetes-version", version,
                "--json", f"reports/kind-{version}.json", "--junitxml", f"reports/kind-{version}.xml",
                *session.posargs)


@nox.session
def summary(session: nox.Session) -> None:
    """Merge the JSON reports in reports/ into one table."""
    session.install("-q", "-e", ".")
    reports = sorted(str(p) for p in Path("reports").glob("*.json"))
    if not reports:
        session.error("no reports/*.json: run `nox -s conformance` or `nox -s matrix` first")
    session.run("conformance", "summary", "--markdown", *reports)


@nox.session
def record(session: nox.Session) -> None:
    """Record what the share-process-namespace page's commands print on podman (test fixtures)."""
    _install(session)
    pages = session.posargs or ["docs/en/tasks/configure-pod-container/share-process-namespace.md"]
    session.run("conformance", "run", *pages, "--record", "tests/data/recorded/podman", success_codes=[0, 1])


@nox.session
def tests(session: nox.Session) -> None:
    """The project's own tests (podman tests run for real; kind tests skip where kind is missing)."""
    _install(session)
    session.run("pytest", "tests", "-ra", "--junitxml", "reports/tests.xml", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("-q", "-e", ".[dev]")
    session.run("ruff", "check", "conformance", "tests", "noxfile.py")
    # strict typing of the package (settings: pyproject's [tool.mypy]); tests/test_typing.py runs it too
    session.run("mypy", "--strict", "conformance")
    # the CI workflow: GitHub's schema (offline) and zizmor's audits
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows",
                ".github/workflows/conformance.yml")
    session.run("zizmor", "--offline", "--no-progress", ".github/workflows/conformance.yml")
    session.run("actionlint", ".github/workflows/conformance.yml")
