"""A manifest the page shows inline under its examples file name stands for
https://k8s.io/examples/<that file> when the examples tree does not have it (a saved
rendered page, a page outside any website tree)."""
from __future__ import annotations

from pathlib import Path

import pytest

from conformance.lex_markdown import lex_markdown
from conformance.lex_rendered import lex_rendered
from conformance.page_facts import shown_file_name
from conformance.pages import load_page
from conformance.run import PageRun
from conformance.steps import steps_for
from conformance.verdict import Verdict

from .conftest import ROOT
from .test_run_mapping import RecordingRuntime

MANIFEST = (ROOT / "examples" / "pods" / "share-process-namespace.yaml").read_text()


class ContentRuntime(RecordingRuntime):
    """Records what each applied file holds."""

    def __init__(self):
        super().__init__(api=False)
        self.applied: list[str] = []

    def apply(self, manifest, namespace):
        self.applied.append(Path(manifest).read_text())
        return super().apply(manifest, namespace)


def _run(path: Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    page = load_page(path)
    runtime = ContentRuntime()
    run = PageRun(page, lambda: runtime, runtime_name="recording")
    blocks = (lex_markdown(page.text, page.front_matter.end_offset) if page.format == "markdown"
              else lex_rendered(page.text))
    steps = steps_for(blocks)
    outcomes = {step.line: (step, run.run(step)) for step in steps}
    run.teardown()
    return runtime, outcomes


RENDERED = ("Share Process Namespace between Containers in a Pod\n\n"
            "Process namespace sharing is enabled using the shareProcessNamespace field:\n\n"
            "pods/share-process-namespace.yaml Copy pods/share-process-namespace.yaml to clipboard\n\n"
            + MANIFEST + "\n"
            "  1. Create the pod nginx on your cluster:\n\n"
            "    kubectl apply -f https://k8s.io/examples/pods/share-process-namespace.yaml\n")


def _apply_outcome(outcomes):
    [(step, outcome)] = [v for v in outcomes.values() if v[0].kind == "command"
                         and "apply" in v[0].block.text]
    return step, outcome


def test_a_saved_rendered_page_applies_the_manifest_it_shows(tmp_path):
    runtime, outcomes = _run(tmp_path / "Downloads" / "saved-page", RENDERED)
    manifest_line = RENDERED.split("\n").index("apiVersion: v1") + 1
    assert outcomes[manifest_line][0].kind == "manifest"
    _, outcome = _apply_outcome(outcomes)
    assert outcome.verdict == Verdict.PASS, outcome.reason
    assert (f"share-process-namespace.yaml (not in the examples tree: the manifest the page shows under "
            f"that name at line {manifest_line}): pod/nginx running") in outcome.reason
    assert runtime.applied == [MANIFEST]


def test_a_markdown_page_with_the_name_above_its_fence_and_the_long_url(tmp_path):
    text = ("---\ntitle: t\n---\n\nThe Deployment:\n\n**`application/deployment.yaml`**\n"
            "```yaml\n" + MANIFEST + "```\n\n"
            "```shell\nkubectl apply -f https://kubernetes.io/examples/application/deployment.yaml\n```\n")
    runtime, outcomes = _run(tmp_path / "page.md", text)
    _, outcome = _apply_outcome(outcomes)
    assert outcome.verdict == Verdict.PASS, outcome.reason
    assert "the manifest the page shows under that name at line 8" in outcome.reason
    assert runtime.applied == [MANIFEST]


def test_the_examples_tree_wins_over_the_shown_manifest(tmp_path):
    site = tmp_path / "website" / "content"
    real = site / "en" / "examples" / "pods" / "share-process-namespace.yaml"
    real.parent.mkdir(parents=True)
    real.write_text(MANIFEST.replace("name: nginx\n", "name: nginx\n  labels:\n    from: tree\n", 1))
    runtime, outcomes = _run(site / "en" / "docs" / "tasks" / "p.rendered.txt", RENDERED)
    _, outcome = _apply_outcome(outcomes)
    assert outcome.verdict == Verdict.PASS and "not in the examples tree" not in outcome.reason
    assert runtime.applied == [real.read_text()]


def test_without_a_name_above_it_nothing_stands_for_the_file(tmp_path):
    text = RENDERED.replace("pods/share-process-namespace.yaml Copy pods/share-process-namespace.yaml "
                            "to clipboard\n\n", "")
    runtime, outcomes = _run(tmp_path / "saved-page", text)
    _, outcome = _apply_outcome(outcomes)
    assert outcome.verdict == Verdict.FAIL and "no such file in the examples tree" in outcome.reason
    assert runtime.applied == []


@pytest.mark.parametrize("above, name", [
    ("pods/share-process-namespace.yaml", "pods/share-process-namespace.yaml"),
    ("  application/deployment.yaml  ", "application/deployment.yaml"),
    ("**`admin/sched/my-scheduler.yaml`**", "admin/sched/my-scheduler.yaml"),
    ("`pod.json`", "pod.json"),
    ("pods/a.yml Copy pods/a.yml to clipboard", "pods/a.yml"),
    ("pods/a.yaml is the file we use", ""),           # a sentence, not a name line
    ("Create the pod:", ""),
    ("../../etc/cron.d/x.yaml", ""),                   # never a way out of the work folder
    ("pods/./a.yaml", ""),
])
def test_the_name_line(above, name):
    assert shown_file_name(f"intro\n\n{above}\n\napiVersion: v1\n", 5) == name
    assert shown_file_name(f"intro\n\n{above}\napiVersion: v1\n", 4) == name
