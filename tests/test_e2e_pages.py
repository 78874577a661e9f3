"""End to end: real pages on real podman, and mutated copies that must fail at the right line.

Each mutation is applied to a copy of a page (or of its manifest) laid out like the
website's content/ tree; the run's JSON report must show a fail at the mutated block with
a readable reason, and the untouched blocks keep their verdicts.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.host import missing_packages

from .conftest import DOCS, ROOT, SPN

MANIFEST = ROOT / "examples" / "pods" / "share-process-namespace.yaml"
pytestmark = [pytest.mark.slow]


def _podman_or_skip() -> None:
    missing = missing_packages()
    if missing:
        pytest.skip("podman runtime unavailable here: missing " + ", ".join(t.package for t in missing)
                    + " (run `conformance setup` as root)")


def run_conformance(*args: str, cwd: Path | None = None, timeout: float = 600) -> tuple[int, dict, str]:
    report = Path(cwd or ROOT) / "report.json" if cwd else ROOT / "reports" / "e2e.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", *args, "--json", str(report)],
                          cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout, check=False,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    data = json.loads(report.read_text()) if report.exists() else {}
    return proc.returncode, data, proc.stdout + proc.stderr


def site_copy(tmp_path: Path, lang: str = "en", page_edit=None, manifest_edit=None) -> Path:
    """A website-shaped copy: content/<lang>/docs/... and content/en/examples/pods/..."""
    page = tmp_path / "content" / lang / "docs" / f"{SPN}.md"
    page.parent.mkdir(parents=True)
    text = (DOCS / lang / f"{SPN}.md").read_text(encoding="utf-8")
    page.write_text(page_edit(text) if page_edit else text, encoding="utf-8")
    manifest = tmp_path / "content" / "en" / "examples" / "pods" / MANIFEST.name
    manifest.parent.mkdir(parents=True)
    body = MANIFEST.read_text()
    manifest.write_text(manifest_edit(body) if manifest_edit else body)
    return page


def blocks(data: dict) -> list[dict]:
    return data["blocks"]


def verdict_at(data: dict, line: int) -> dict:
    found = [b for b in data["blocks"] if b["line"] == line]
    assert found, f"no block at line {line}: {[(b['line'], b['verdict']) for b in data['blocks']]}"
    return found[0]


def line_of(page: Path, needle: str, nth: int = 0) -> int:
    """The line of the fence that opens the block containing needle."""
    lines = page.read_text().split("\n")
    hits = [i for i, l in enumerate(lines) if needle in l]
    index = hits[nth]
    while not lines[index].strip().startswith("```"):
        index -= 1
    return index + 1


def test_every_page_in_docs_runs_with_no_fail():
    _podman_or_skip()
    code, data, out = run_conformance(str(DOCS))
    assert data, out
    fails = [b for b in blocks(data) if b["verdict"] == "fail"]
    # the one broken block in docs/ is real: seed 003's RuntimeClass uses node.k8s.io/v1beta1,
    # which Kubernetes 1.25 stopped serving
    assert [(Path(b["path"]).name, b["line"]) for b in fails] == [("runtime-class.rendered.txt", 30)], out
    assert "removed in Kubernetes 1.25" in fails[0]["reason"]
    assert code == 1, out
    spn = [b for b in blocks(data) if "share-process-namespace" in b["path"]]
    assert len(spn) == 6 * 6 and not [b for b in spn if b["verdict"] in ("fail", "blocked", "skip")], out
    paths = {b["path"] for b in blocks(data)}
    for lang in ("en", "id", "fr", "ja"):
        assert any(p.endswith(f"{lang}/{SPN}.md") for p in paths)
    # the runtime steps really ran: the transcripts passed or drifted, none skipped
    typed = [b for b in blocks(data) if b["kind"] == "transcript"]
    assert len(typed) == 3 * 6 and all(b["verdict"] in ("pass", "drift") for b in typed), out
    assert all(b["reason"] for b in blocks(data) if b["verdict"] in ("drift", "skip", "blocked"))
    assert data["runtime"]["images"], "the report names the images used"


@pytest.mark.parametrize("edit", [
    pytest.param(lambda m: m.replace("  shareProcessNamespace: true\n", ""), id="shareProcessNamespace-removed"),
    pytest.param(lambda m: m.replace("shareProcessNamespace: true", "shareProcessNamespace: false"),
                 id="shareProcessNamespace-false"),
])
def test_without_a_shared_namespace_the_processes_are_missing(tmp_path, edit):
    _podman_or_skip()
    page = site_copy(tmp_path, "en", manifest_edit=edit)
    code, data, out = run_conformance(str(page), cwd=tmp_path)
    first_ps = verdict_at(data, line_of(page, "/ # ps ax"))
    assert first_ps["verdict"] == "fail", out
    assert "/pause" in first_ps["reason"] and "not running" in first_ps["reason"], first_ps
    assert "line" in first_ps["diff"] and "nginx: master process" in first_ps["diff"]
    assert code == 1


def test_a_documented_process_that_does_not_exist(tmp_path):
    _podman_or_skip()
    page = site_copy(tmp_path, "id", page_edit=lambda t: t.replace(
        "   15 root      0:00 sh\n       21", "   15 root      0:00 sh\n       17 root      0:00 crond -f\n       21", 1))
    code, data, out = run_conformance(str(page), cwd=tmp_path)
    block = verdict_at(data, line_of(page, "/ # ps ax"))
    assert block["verdict"] == "fail", out
    assert "crond -f" in block["reason"] and "not running" in block["reason"]
    assert "crond -f" in block["diff"]
    # the rest of the page still ran
    assert verdict_at(data, line_of(page, "/ # head"))["verdict"] in ("pass", "drift")
    assert code == 1


def test_the_same_worker_pid_before_and_after_hup(tmp_path):
    _podman_or_skip()
    page = site_copy(tmp_path, "en", page_edit=lambda t: t.replace(
        "   22 101       0:00 nginx: worker process", "   14 101       0:00 nginx: worker process"))
    code, data, out = run_conformance(str(page), cwd=tmp_path)
    block = verdict_at(data, line_of(page, "/ # kill -HUP 8"))
    assert block["verdict"] == "fail", out
    assert "PID 14" in block["reason"] and "nginx: worker process" in block["reason"]
    assert code == 1


def test_a_proc_path_of_a_pid_never_shown(tmp_path):
    _podman_or_skip()
    page = site_copy(tmp_path, "fr", page_edit=lambda t: t.replace(
        "/ # head /proc/8/root/etc/nginx/nginx.conf", "/ # head /proc/9/root/etc/nginx/nginx.conf"))
    code, data, out = run_conformance(str(page), cwd=tmp_path)
    block = verdict_at(data, line_of(page, "/ # head"))
    assert block["verdict"] == "fail", out
    assert "PID 9" in block["reason"] and "never shown" in block["reason"]
    assert code == 1


def test_a_manifest_that_is_not_valid_yaml(tmp_path):
    _podman_or_skip()
    page = site_copy(tmp_path, "ja", manifest_edit=lambda m: m.replace("  containers:\n", "  containers: [\n"))
    code, data, out = run_conformance(str(page), cwd=tmp_path)
    lines = page.read_text().split("\n")
    shortcode_line = next(i for i, l in enumerate(lines, 1) if "codenew" in l)
    manifest = verdict_at(data, shortcode_line)
    assert manifest["verdict"] == "fail", out
    assert "YAML" in manifest["reason"] or "yaml" in manifest["reason"]
    apply = verdict_at(data, line_of(page, "kubectl apply"))
    assert apply["verdict"] == "fail", out
    # what came after the failed apply is blocked, not failed again
    later = [b for b in data["blocks"] if b["line"] > apply["line"]]
    assert later and all(b["verdict"] == "blocked" for b in later), later
    assert code == 1


# The website's current form of the page: commands typed in the container are marked by a
# comment, not a prompt, and each output is a block of its own after "The output is similar to".
CURRENT_FORM = """---
title: Share Process Namespace between Containers in a Pod
min-kubernetes-server-version: v1.10
---

{{% code_sample file="pods/share-process-namespace.yaml" %}}

1. Create the Pod:

   ```shell
   kubectl apply -f https://k8s.io/examples/pods/share-process-namespace.yaml
   ```

1. Attach to the `shell` container:

   ```shell
   kubectl attach -it nginx -c shell
   ```

   ```shell
   # run this inside the "shell" container
   ps ax
   ```

   The output is similar to this:

   ```none
   PID   USER     TIME  COMMAND
       1 root      0:00 /pause
       8 root      0:00 nginx: master process nginx -g daemon off;
      14 101       0:00 nginx: worker process
      15 root      0:00 sh
      21 root      0:00 ps ax
   ```

Signal the master process:

```shell
# run this inside the "shell" container
kill -HUP 8   # change "8" to match the PID of the nginx leader process, if necessary
ps ax
```

The output is similar to this:

```none
PID   USER     TIME  COMMAND
    1 root      0:00 /pause
    8 root      0:00 nginx: master process nginx -g daemon off;
   15 root      0:00 sh
   22 101       0:00 nginx: worker process
   23 root      0:00 ps ax
```
"""


def _current_form_site(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "content" / "en" / "docs" / "current.md"
    page.parent.mkdir(parents=True)
    page.write_text(text)
    manifest = tmp_path / "content" / "en" / "examples" / "pods" / MANIFEST.name
    manifest.parent.mkdir(parents=True)
    manifest.write_text(MANIFEST.read_text())
    return page


def test_the_current_page_form_runs(tmp_path):
    _podman_or_skip()
    page = _current_form_site(tmp_path, CURRENT_FORM)
    code, data, out = run_conformance(str(page), cwd=tmp_path)
    kinds = [(b["kind"], b["verdict"]) for b in data["blocks"]]
    assert kinds == [("manifest", "pass"), ("command", "pass"), ("command", "pass"), ("command", "pass"),
                     ("output", "drift"), ("command", "pass"), ("output", "drift")], out
    assert code == 0, out


def test_the_current_page_form_catches_an_unchanged_worker(tmp_path):
    _podman_or_skip()
    page = _current_form_site(tmp_path, CURRENT_FORM.replace("   22 101       0:00 nginx: worker process",
                                                             "   14 101       0:00 nginx: worker process"))
    code, data, out = run_conformance(str(page), cwd=tmp_path)
    last = data["blocks"][-1]
    assert last["kind"] == "output" and last["verdict"] == "fail", out
    assert "PID 14" in last["reason"]
    assert code == 1


SLOW_PAGE = """---
title: t
---

```shell
kubectl apply -f https://k8s.io/examples/pods/share-process-namespace.yaml
kubectl attach -it nginx -c shell
```

```
/ # sleep 15
```
"""


def test_ctrl_c_mid_page_leaves_no_pod(tmp_path):
    """The pod is removed when the user interrupts a run, not only when a page ends."""
    _podman_or_skip()
    import signal
    import time

    from conformance.runtime.podman import PodmanRuntime, default_cache_dir

    page = _current_form_site(tmp_path, SLOW_PAGE)
    runtime = PodmanRuntime(cache_dir=default_cache_dir())
    runtime.start()

    def pods() -> list[str]:
        return runtime._call(["pod", "ps", "--format", "{{.Name}}"], check=True).stdout.split()

    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "run", str(page)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        deadline = time.monotonic() + 60
        while "nginx" not in pods() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert "nginx" in pods(), "the page's pod never started"
        time.sleep(1.0)  # the attach and `sleep 15` are under way
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "nginx" not in pods()
    assert proc.returncode != 0


def test_junit_xml_carries_each_blocks_verdict(tmp_path):
    _podman_or_skip()
    import xml.etree.ElementTree as ET
    junit = tmp_path / "out.xml"
    code, data, out = run_conformance(str(DOCS / "ja"), "--junitxml", str(junit), cwd=tmp_path)
    assert code == 0, out
    cases = ET.parse(junit).getroot().iter("testcase")
    verdicts = [{p.get("name"): p.get("value") for p in case.iter("property")} for case in cases]
    assert [v["verdict"] for v in verdicts] == [b["verdict"] for b in data["blocks"]], out
    assert all(v["reason"] for v in verdicts if v["verdict"] == "drift")


def test_strict_turns_drift_into_failure(tmp_path):
    _podman_or_skip()
    code, data, out = run_conformance(str(DOCS / "ja"), "--strict", cwd=tmp_path)
    drifts = [b for b in data["blocks"] if b["verdict"] == "drift"]
    assert drifts and code == 1, out
    assert "drift (--strict)" in out or "FAILED" in out
