"""Reports: JSON shape, the verdict table and the merged summary across runs."""
import json

from conformance.cli import main
from conformance.report import BlockRecord, Recorder, merge_summary


def _run(verdicts, label):
    recorder = Recorder(runtime={"name": "kind", "label": label, "images": []})
    for line, verdict in verdicts:
        recorder.add(BlockRecord("docs/en/p.md", line, "en", "command", verdict, f"because {verdict}"))
    recorder.manifests.append({"path": "docs/en/p.md", "line": 5, "document": "Pod/x", "api_version": "v1",
                               "versions": {"1.36": "pass", "1.37": "fail"}})
    return recorder


def test_json_shape(tmp_path):
    recorder = _run([(5, "pass"), (9, "drift"), (12, "fail")], "kind 1.37")
    target = tmp_path / "r.json"
    recorder.write_json(target)
    data = json.loads(target.read_text())
    assert set(data) >= {"runtime", "blocks", "summary", "manifests", "translations"}
    assert data["summary"] == {"pass": 1, "drift": 1, "fail": 1, "skip": 0, "blocked": 0}
    assert set(data["blocks"][0]) >= {"path", "line", "language", "kind", "verdict", "reason"}


def test_merged_summary_has_a_column_per_run(tmp_path, capsys):
    a, b = tmp_path / "kind-1.36.json", tmp_path / "kind-1.37.json"
    _run([(5, "pass"), (9, "drift")], "kind 1.36").write_json(a)
    _run([(5, "pass"), (9, "fail")], "kind 1.37").write_json(b)
    table = merge_summary([a, b], markdown=True)
    lines = table.split("\n")
    assert lines[0] == "| page | line | kind | kind 1.36 | kind 1.37 |"
    assert "| docs/en/p.md | 9 | command | drift | fail |" in lines
    assert "Manifests by Kubernetes version" in table and "| docs/en/p.md:5 | Pod/x | ok | FAIL |" in table
    assert main(["summary", str(a), str(b), "--markdown"]) == 0
    assert "kind 1.37" in capsys.readouterr().out


def test_verdict_table_names_every_reason_and_shows_fail_diffs():
    recorder = _run([(9, "drift")], "x")
    recorder.blocks.append(BlockRecord("docs/en/p.md", 12, "en", "transcript", "fail", "PID 14 changed; USER differs",
                                       "line 12 !  14 ..."))
    text = recorder.table(width=120)
    assert "because drift" in text and "PID 14 changed" in text and "USER differs" in text
    assert "line 12 !  14 ..." in text
    assert text.endswith("total: 0 pass, 1 drift, 1 fail, 0 skip, 0 blocked")


def test_pages_table_has_a_row_per_page_with_counts_and_fails(tmp_path):
    recorder = _run([(5, "pass"), (9, "fail")], "x")
    recorder.blocks[0].checked = "compared"
    recorder.pages.append({"path": "docs/en/p.md", "language": "en"})
    target = tmp_path / "r.json"
    recorder.write_json(target)
    from conformance.report import pages_table
    lines = pages_table([target]).split("\n")
    assert lines[0].startswith("| page | lang | blocks | pass | drift | fail | skip | blocked |")
    assert lines[2] == "| `docs/en/p.md` | en | 2 | 1 | 0 | 1 | 0 | 0 | 1 compared | fail | 9: because fail |"
