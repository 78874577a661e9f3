"""The corpus of real website pages (tests/data/website), run on real podman.

Every fail the suite reports there must be a documentation problem, listed with the
reason in tests/data/website/docs-problems.yaml; every other block is pass, drift, or a
skip whose reason names a limit of the runtime or of the offline images. A fail that is
not listed is the suite's (or the runtime's) fault until shown otherwise; a listed
problem that no longer fails means the suite stopped seeing it.
"""
from __future__ import annotations

import time

import pytest
import yaml

from conformance.coverage import skip_class
from conformance.lex_markdown import lex_markdown
from conformance.pages import load_page

from .conftest import ROOT
from .test_e2e_pages import _podman_or_skip, run_conformance

CORPUS = ROOT / "tests" / "data" / "website"
CONTENT = CORPUS / "content"
pytestmark = [pytest.mark.slow]


def _relative(path: str) -> str:
    return str((ROOT / path).resolve().relative_to(CONTENT))


def _problems() -> dict[tuple[str, int], str]:
    data = yaml.safe_load((CORPUS / "docs-problems.yaml").read_text(encoding="utf-8"))
    return {(item["page"], int(item["line"])): item["problem"] for item in data["problems"]}


@pytest.fixture(scope="module")
def corpus() -> dict:
    _podman_or_skip()
    before = sorted(p.name for p in ROOT.iterdir())
    started = time.monotonic()
    code, data, out = run_conformance(str(CORPUS), timeout=2400)
    assert data, out[-3000:]
    assert code in (0, 1), f"the run crashed (exit {code}):\n{out[-3000:]}"
    data["elapsed"] = time.monotonic() - started
    data["new_files"] = sorted({p.name for p in ROOT.iterdir()} - set(before) - {"reports"})
    return data


def test_the_run_leaves_nothing_in_the_folder_it_ran_in(corpus):
    # conmon writes an `oom` file into podman's working folder when a container is OOM-killed
    # (assign-memory-resource.md): podman must work in the runtime's own folder
    assert corpus["new_files"] == []


def test_every_fail_is_a_listed_documentation_problem(corpus):
    fails = {(_relative(b["path"]), b["line"]): b["reason"] for b in corpus["blocks"] if b["verdict"] == "fail"}
    listed = _problems()
    unexpected = {k: v for k, v in fails.items() if k not in listed}
    missing = {k: v for k, v in listed.items() if k not in fails}
    assert not unexpected, "fails that are not documentation problems:\n" + "\n".join(
        f"  {p}:{line}: {reason[:300]}" for (p, line), reason in sorted(unexpected.items()))
    assert not missing, "documentation problems the suite no longer reports:\n" + "\n".join(
        f"  {p}:{line}: {problem}" for (p, line), problem in sorted(missing.items()))


def test_nothing_is_blocked_but_by_a_documentation_problem(corpus):
    failed_pages = {page for page, _ in _problems()}
    blocked = [(_relative(b["path"]), b["line"], b["reason"]) for b in corpus["blocks"] if b["verdict"] == "blocked"]
    assert [b for b in blocked if b[0] not in failed_pages] == []


def test_every_skip_names_a_limit(corpus):
    unclassified = [(_relative(b["path"]), b["line"], b["reason"]) for b in corpus["blocks"]
                    if b["verdict"] == "skip" and skip_class(b["reason"]) == "other"]
    assert unclassified == []


def test_every_page_ran_and_every_block_was_counted(corpus):
    pages = sorted(p for p in CONTENT.rglob("*.md") if "examples" not in p.relative_to(CONTENT).parts)
    reported = {_relative(p["path"]): p for p in corpus["pages"]}
    assert sorted(reported) == sorted(str(p.relative_to(CONTENT)) for p in pages)
    for path in pages:
        page = load_page(path)
        found = len(lex_markdown(page.text, page.front_matter.end_offset))
        coverage = reported[str(path.relative_to(CONTENT))]["coverage"]
        assert coverage["found"] == found, path
        assert sum(coverage["verdicts"].values()) == found, path


def test_the_corpus_runs_in_bounded_time(corpus):
    # 41 pages, about 600 blocks; images cached. A bound, not a benchmark: a hang shows here.
    assert corpus["elapsed"] < 1200, f"the corpus took {corpus['elapsed']:.0f} s"
