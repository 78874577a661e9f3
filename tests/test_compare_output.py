"""compare_output: choosing the comparer, outputs the page does not show, and a whole page's sequence."""
from pathlib import Path

import pytest

from conformance.compare import Bindings, compare_output, looks_like_config, reads_file
from conformance.verdict import Verdict, combine

DATA = Path(__file__).parent / "data" / "compare"


def data(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_no_output_documented_and_none_seen_passes():
    outcome = compare_output("", "\r\n", Bindings(), command="kill -HUP 8")
    assert (outcome.verdict, outcome.reason) == (Verdict.PASS, "no output, as on the page")


def test_unexpected_output_is_drift_and_an_error_fails():
    outcome = compare_output("", "Terminated\n", Bindings(), command="kill -HUP 8")
    assert (outcome.verdict, outcome.reason) == (Verdict.DRIFT,
                                                 "the page shows no output, but the command printed 'Terminated'")
    for error in ("sh: can't kill pid 7: No such process", "kill: usage: kill [-s sigspec] pid",
                  "Usage: kill [-l] [-SIG] PID...", "sh: 1: foo: not found", "Permission denied"):
        outcome = compare_output("", error, Bindings(), command="kill -HUP 8")
        assert outcome.verdict == Verdict.FAIL, error
        assert outcome.reason == f"the page shows no output, but the command printed an error: {error}"


@pytest.mark.parametrize("command, expected", [
    ("head /proc/8/root/etc/nginx/nginx.conf", True),
    ("cat /etc/app.ini", True),
    ("sed -n 1,10p /etc/nginx/nginx.conf", True),
    ("cat /etc/a.conf | head -n 5", True),
    ("ps ax", False),
    ("cat", False),
    ("cat /etc/a.conf | grep worker", False),
    (None, False),
])
def test_reads_file(command, expected):
    assert reads_file(command) is expected


def test_looks_like_config():
    assert looks_like_config(data("page_nginx_conf.ja.txt"))
    describe = "Name: nginx\nNamespace: default\nStatus: Running\n"
    assert not looks_like_config(describe)              # command output: compared as text
    assert looks_like_config(describe, read_from_file=True)
    assert not looks_like_config("Hello from the pod\n", read_from_file=True)


def test_kubectl_describe_style_output_is_text_not_config():
    outcome = compare_output("Name: nginx\nStatus: Running\n", "Name: nginx\nStatus: Pending\n", Bindings(),
                             command="kubectl describe pod nginx", line=3)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons == [("output differs from the page at line 4: page 'Status: Running', "
                               "real 'Status: Pending'")]


def test_a_file_read_is_compared_as_config():
    outcome = compare_output("worker_processes 1;\nuser nginx;\n", "worker_processes auto;\nuser nginx;\n",
                             Bindings(), command="cat /etc/nginx/nginx.conf")
    assert (outcome.verdict, outcome.reasons) == (Verdict.DRIFT, ["worker_processes: page 1, real auto"])


def test_table_on_the_page_and_an_error_for_real_fails():
    outcome = compare_output(data("page_ps_before.id.txt"), "sh: ps: not found\n", Bindings(), command="ps ax",
                             line=55)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons == ["the page shows a table, the command printed an error: sh: ps: not found"]
    assert outcome.diff.splitlines()[-1] == "+    sh: ps: not found"
    outcome = compare_output(data("page_ps_before.id.txt"), "", Bindings(), line=55)
    assert outcome.reasons == ["the page shows a table, the real output is empty"]


def test_lines_before_the_real_table_are_drift():
    real = "Defaulted container \"nginx\" out of: nginx, shell\n" + data("page_ps_before.id.txt")
    outcome = compare_output(data("page_ps_before.id.txt"), real, Bindings(), line=55)
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons == [("the real output starts with lines the page does not show: "
                               "'Defaulted container \"nginx\" out of: nginx, shell'")]


@pytest.mark.parametrize("lang, lines", [("id", (55, 69, 82)), ("ja", (36, 49, 59))])
def test_the_whole_page_in_order(lang, lines):
    """ps ax, kill -HUP 8, ps ax, head /proc/8/root/...: the page's point holds, details drift."""
    bindings = Bindings()
    before, after, conf = lines
    steps = [compare_output(data(f"page_ps_before.{lang}.txt"), data("handwritten_ps_before.official-busybox.txt"),
                            bindings,
                            command="ps ax", line=before)]
    assert bindings.resolve_command("kill -HUP 8") == "kill -HUP 7"
    steps.append(compare_output("", "", bindings, command="kill -HUP 8"))
    steps.append(compare_output(data(f"page_ps_after.{lang}.txt"), data("handwritten_ps_after.official-busybox.txt"),
                                bindings,
                                command="ps ax", line=after))
    typed = bindings.resolve_command("head /proc/8/root/etc/nginx/nginx.conf")
    assert typed == "head /proc/7/root/etc/nginx/nginx.conf"
    steps.append(compare_output(data(f"page_nginx_conf.{lang}.txt"), data("real_nginx_conf.bookworm.txt"),
                                bindings, command="head /proc/8/root/etc/nginx/nginx.conf", line=conf))
    assert [s.verdict for s in steps] == [Verdict.DRIFT, Verdict.PASS, Verdict.DRIFT, Verdict.DRIFT]
    page = combine(steps)
    assert page.verdict == Verdict.DRIFT
    assert "worker_processes: page 1, real auto" in page.reasons
    assert "page shows 1 'nginx: worker process', saw 2" in page.reasons
    assert {b.documented: b.real for b in bindings if b.namespace == "pid"} == {
        "1": {"1"}, "8": {"7"}, "14": {"33", "34"}, "15": {"35"}, "21": {"41"}, "22": {"42", "43"}, "23": {"44"}}


def test_pgrep_output_binds_pids_like_ps_rows():
    from conformance.compare import Bindings, compare_output
    bindings = Bindings()
    first = compare_output("8\n14\n", "11\n35\n", bindings, command="pgrep nginx", line=10)
    assert first.verdict.value == "pass"
    # the same documented PID later must be the same real process
    later = compare_output("8\n", "12\n", bindings, command="pgrep nginx", line=20)
    assert later.verdict.value == "fail" and "8" in later.reason
