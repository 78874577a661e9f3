"""Coverage: what a page's verdict rests on; a page where nothing was compared is no pass."""
from conformance.coverage import page_coverage, skip_class
from conformance.report import BlockRecord, Recorder
from conformance.verdict import Outcome, Verdict, combine


def _block(line, verdict, reason="", checked=""):
    return BlockRecord("docs/en/p.md", line, "en", "command", verdict, reason, checked=checked)


def test_a_page_where_only_skips_and_bare_runs_happened_is_unchecked_not_pass():
    coverage = page_coverage([
        _block(5, "pass", "pod/x running", "ran"),
        _block(9, "skip", "needs a Kubernetes API (kubectl get); runs on --runtime kind or kubeconfig, not podman"),
        _block(12, "skip", "illustrative: no command on the page produces this text"),
        _block(14, "skip", "line 14: `minikube` runs on the reader's machine; the suite runs no host shell"),
    ])
    assert coverage.status == "unchecked"
    assert coverage.skipped == {"needs a Kubernetes API": 1, "illustrative": 1, "host command": 1}
    assert coverage.line() == ("4 blocks: 1 ran; 3 not run (1 needs a Kubernetes API, 1 illustrative, "
                               "1 host command) -> UNCHECKED")


def test_compared_and_validated_blocks_make_a_pass_and_fails_win():
    blocks = [_block(5, "pass", "", "validated"), _block(9, "drift", "USER differs", "compared")]
    assert page_coverage(blocks).status == "drift"
    assert page_coverage(blocks[:1]).status == "pass"
    assert page_coverage(blocks + [_block(12, "fail", "exited 1", "ran")]).status == "fail"
    assert page_coverage([_block(3, "blocked", "an earlier step failed")]).skipped == {
        "blocked by an earlier fail": 1}


def test_skip_classes_of_the_runs_own_reasons():
    assert skip_class("page needs Kubernetes v1.30 or newer (min-kubernetes-server-version)") == "version gate"
    assert skip_class("line 20: typed in the container session opened at line 10") == "session did not open"
    assert skip_class("placeholder left to the reader: <pod-name>") == "placeholder"
    assert skip_class("output of line 34 (`kubectl apply -f x.yaml`), which ran; what kubectl prints for it "
                      "is not shown by podman") == "needs a Kubernetes API"
    assert skip_class("cannot run here: invalid repository name in image reference '<your-private-image>'") \
        == "placeholder"
    assert skip_class("kubectl create -f ./jobs: not in the examples tree; it would be made by a step that did "
                      "not run here (line 66)") == "host command"
    assert skip_class("something new") == "other"


def test_combine_keeps_the_strongest_check():
    outcome = combine([Outcome(Verdict.PASS, ["ran"], checked="ran"),
                       Outcome(Verdict.DRIFT, ["USER"], checked="compared"), Outcome.skipped("x")])
    assert outcome.checked == "compared"


def test_json_and_table_carry_the_coverage(tmp_path):
    recorder = Recorder()
    recorder.pages.append({"path": "docs/en/p.md", "language": "en"})
    recorder.add(_block(5, "pass", "ps ax as on the page", "compared"))
    recorder.add(_block(9, "skip", "placeholder left to the reader: $NAME"))
    data = recorder.as_json()
    assert data["pages"][0]["coverage"] == {"status": "pass", "found": 2, "verdicts": {"pass": 1, "skip": 1},
                                            "compared": 1, "validated": 0, "ran": 0,
                                            "skipped": {"placeholder": 1}}
    assert data["blocks"][0]["checked"] == "compared"
    assert "2 blocks: 1 compared; 1 not run (1 placeholder) -> PASS" in recorder.table(width=120)


def test_a_page_without_any_code_block_is_reported_unchecked(tmp_path):
    from .test_e2e_pages import run_conformance
    page = tmp_path / "content" / "en" / "docs" / "concepts" / "prose-only.md"
    page.parent.mkdir(parents=True)
    page.write_text("---\ntitle: Prose only\n---\n\nNothing to run here.\n")
    code, data, out = run_conformance(str(tmp_path / "content"), cwd=tmp_path)
    assert data["pages"] == [{"path": "content/en/docs/concepts/prose-only.md", "language": "en",
                              "title": "Prose only", "feature_state": None, "min_server_version": None,
                              "coverage": {"status": "unchecked", "found": 0, "verdicts": {}, "compared": 0,
                                           "validated": 0, "ran": 0, "skipped": {}}}]
    assert "0 blocks: nothing checked -> UNCHECKED" in out
    assert code == 0
