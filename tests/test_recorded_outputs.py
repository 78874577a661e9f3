"""The comparison engine on output a runtime really printed (tests/data/recorded/).

The recordings are what `nox -s record` (`conformance run PAGE --record DIR`) wrote: each
command of the share-process-namespace page and what podman 4.3 with the offline images
printed for it, with the images and the date in the file. Replayed in page order through one
page-wide set of bindings, as a run does.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.compare import Bindings, compare_output
from conformance.lex_markdown import lex_markdown
from conformance.pages import load_page
from conformance.steps import steps_for
from conformance.verdict import Verdict

from .conftest import ROOT

RECORDED = ROOT / "tests" / "data" / "recorded" / "podman"


def _replay(recording: dict, edit=None) -> list[tuple[str, str, object]]:
    page = load_page(ROOT / recording["page"])
    commands = {c.line: c for s in steps_for(lex_markdown(page.text, page.front_matter.end_offset))
                for c in s.commands}
    bindings, results = Bindings(), []
    for entry in recording["commands"]:
        command = commands[entry["line"]]
        typed = bindings.resolve_command(command.text)
        output = edit(entry["line"], entry["output"]) if edit else entry["output"]
        results.append((command.text, typed, compare_output(command.expected or "", output, bindings,
                                                            command=command.text, line=command.expected_line)))
    return results


@pytest.fixture(params=sorted(RECORDED.glob("*.json")), ids=lambda p: p.name)
def recording(request) -> dict:
    data = json.loads(Path(request.param).read_text(encoding="utf-8"))
    assert data["runtime"] == "podman" and data["images"] and data["date"]
    return data


def test_the_recorded_run_keeps_the_pages_point_and_names_each_detail(recording):
    (ps, _, before), (kill, typed_kill, signal), (_, _, after), (_, typed_head, conf) = _replay(recording)
    assert (ps, kill) == ("ps ax", "kill -HUP 8")
    # the documented master PID 8 is typed as the real master's PID, in kill and in /proc
    master = typed_kill.split()[-1]
    assert master != "8" and typed_head == f"head /proc/{master}/root/etc/nginx/nginx.conf"
    assert [o.verdict for o in (before, signal, after, conf)] == [Verdict.DRIFT, Verdict.PASS, Verdict.DRIFT,
                                                                  Verdict.DRIFT]
    # what Debian's busybox and nginx differ in, each named
    assert before.reasons[:3] == ["column TIME not shown by the real output",
                                  "USER of 'nginx: worker process': page 101, real www-data",
                                  "page shows 1 'nginx: worker process', saw 2"]
    assert "worker_processes: page 1, real auto" in conf.reasons


def test_a_worker_that_kept_its_pid_after_the_signal_fails(recording):
    first = recording["commands"][0]["output"]
    workers_before = [line for line in first.splitlines() if "worker process" in line]

    def unchanged(line: int, output: str) -> str:
        if line != recording["commands"][2]["line"]:
            return output
        kept = [l for l in output.splitlines() if "worker process" not in l]
        return "\n".join(kept[:2] + workers_before + kept[2:])

    _, _, after = _replay(recording, unchanged)[2]
    assert after.verdict == Verdict.FAIL
    assert after.reasons[0].startswith("documented PIDs 14 (line ") and "and 22 are different processes" in after.reason
