"""Free text: whitespace-insensitive lines, placeholders, volatile values, and the page/real diff."""
from conformance.compare import Bindings, compare_text, line_diff
from conformance.verdict import Verdict


def test_same_text_passes_whatever_the_whitespace():
    outcome = compare_text("pod/nginx created\n\n", "  pod/nginx   created  \r\n\r\n")
    assert (outcome.verdict, outcome.reason, outcome.diff) == (Verdict.PASS, "output matches the page", "")


def test_blank_lines_do_not_matter():
    assert compare_text("a\n\nb\n", "a\nb\n").verdict == Verdict.PASS


def test_placeholders_match_anything_in_their_place():
    page = "Name: <pod-name>\nNamespace: $NAMESPACE\nNode: ${NODE}/...\n"
    real = "Name: nginx\nNamespace: default\nNode: kind-worker/172.18.0.2\n"
    assert compare_text(page, real).verdict == Verdict.PASS
    # the literal rest of the line still counts
    assert compare_text(page, real.replace("Namespace:", "Space:")).verdict == Verdict.FAIL


def test_ellipsis_line_stands_for_any_number_of_lines():
    page = "Events:\n...\nNormal Started\n"
    assert compare_text(page, "Events:\nNormal Scheduled\nNormal Pulled\nNormal Started\n").verdict == Verdict.PASS
    assert compare_text(page, "Events:\nNormal Started\n").verdict == Verdict.PASS
    assert compare_text(page, "Events:\nNormal Pulled\n").verdict == Verdict.FAIL


def test_volatile_values_are_drift_naming_each_change():
    page = "Started 5s ago\nimage: nginx:1.14.2\nid: 3f4a5b6c7d8e\nat 2020-10-15T17:00:00Z\n"
    real = "Started 2m30s ago\nimage: nginx:1.25.3\nid: 9a8b7c6d5e4f\nat 2024-06-01T09:13:02Z\n"
    outcome = compare_text(page, real, line=10)
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons == [
        "line 10: 5s -> 2m30s",
        "line 11: nginx:1.14.2 -> nginx:1.25.3",
        "line 12: 3f4a5b6c7d8e -> 9a8b7c6d5e4f",
        "line 13: 2020-10-15T17:00:00Z -> 2024-06-01T09:13:02Z",
    ]
    assert outcome.diff.splitlines()[:4] == ["--- page at line 10", "+++ real", "-10  Started 5s ago",
                                             "+    Started 2m30s ago"]


def test_other_differences_fail_with_a_diff():
    page = "Hello from the pod\nbye\n"
    real = "Hello from the pod\nbye bye\n"
    outcome = compare_text(page, real, line=20)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons == ["output differs from the page at line 21: page 'bye', real 'bye bye'"]
    assert outcome.diff.splitlines() == ["--- page at line 20", "+++ real", " 20  Hello from the pod",
                                         "-21  bye", "+    bye bye"]


def test_missing_and_extra_lines_fail():
    outcome = compare_text("one\ntwo\n", "one\n")
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons == ["output differs from the page: the real output ends before 'two'"]
    assert outcome.diff.splitlines() == ["--- page", "+++ real", " 1  one", "-2  two"]
    outcome = compare_text("one\n", "one\nError from server (NotFound)\n")
    assert outcome.reasons == [("output differs from the page: the real output goes on with "
                               "'Error from server (NotFound)'")]


def test_long_diff_keeps_context_around_changes_only():
    page = "\n".join(f"line {c}" for c in "abcdefghij")
    real = page.replace("line e", "LINE E")
    diff = line_diff(page, real, line=1)
    assert diff.splitlines() == ["--- page at line 1", "+++ real", "  3  line c", "  4  line d", "- 5  line e",
                                 "+    LINE E", "  6  line f", "  7  line g"]
    longer = page + "\nline k\nline l"
    twice = line_diff(longer, real + "\nline k\nLINE L", line=1)
    assert twice.splitlines()[7:] == ["  7  line g", "@@", " 10  line j", " 11  line k", "-12  line l", "+    LINE L"]


def test_generated_names_are_placeholders_with_bindings():
    bindings = Bindings()
    outcome = compare_text("pod/mypod-x7k2q created\n", "pod/mypod-b8n4z created\n", line=5, bindings=bindings)
    assert outcome.verdict == Verdict.PASS
    assert bindings.resolve_command("kubectl logs mypod-x7k2q") == "kubectl logs mypod-b8n4z"
    # without bindings, a generated name that differs is drift
    outcome = compare_text("pod/mypod-x7k2q created\n", "pod/mypod-b8n4z created\n", line=5)
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons == ["line 5: generated names differ: pod/mypod-x7k2q -> pod/mypod-b8n4z"]
    # a name bound earlier must stay the same object
    outcome = compare_text("pod/mypod-x7k2q deleted\n", "pod/mypod-q2w4r deleted\n", line=9, bindings=bindings)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons == [("generated name part x7k2q ('pod/mypod-x7k2q') was real generated name part "
                                "b8n4z at line 5; now 'pod/mypod-x7k2q' is generated name part q2w4r")]


def test_names_bind_and_values_drift_on_the_same_line():
    bindings = Bindings()
    outcome = compare_text("pod/mypod-x7k2q ready in 5s\n", "pod/mypod-b8n4z ready in 3s\n", line=7,
                           bindings=bindings)
    assert (outcome.verdict, outcome.reasons) == (Verdict.DRIFT, ["line 7: 5s -> 3s"])
    assert bindings.get("name", "x7k2q").real == {"b8n4z"}


def test_many_drifting_lines_are_summarized_in_the_reasons():
    page = "\n".join(f"worker {i} pid {100 + i}" for i in range(15))
    real = "\n".join(f"worker {i} pid {200 + i}" for i in range(15))
    outcome = compare_text(page, real, line=1)
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons[0] == "line 1: 100 -> 200"
    assert outcome.reasons[10:] == ["and 5 more lines with other values (see the diff)"]
    assert outcome.diff.count("\n+    worker") == 15


def test_a_page_that_elides_inside_its_lines_shows_an_excerpt():
    # hand-written from downward-api-volume-expose-pod-information.md and a busybox `ls -laR`
    page = ("drwxr-xr-x  ... Feb 6 21:47 ..2982_06_02_21_47_53.299460680\n"
            "lrwxrwxrwx  ... Feb 6 21:47 labels -> ..data/labels\n\n"
            "/etc/podinfo/..2982_06_02_21_47_53.299460680:\n"
            "-rw-r--r--  ... Feb  6 21:47 labels\n")
    real = ("/etc/podinfo:\ntotal 12\ndrwxrwxrwx 3 root root 4096 Dec 2 15:22 .\n"
            "drwxr-xr-x 2 root root 4096 Dec 2 15:22 ..2026_12_02_15_22_34.2750187136\n"
            "lrwxrwxrwx 1 root root 13 Dec 2 15:22 labels -> ..data/labels\n"
            "/etc/podinfo/..2026_12_02_15_22_34.2750187136:\ntotal 16\n"
            "-rw-r--r-- 1 root root 58 Dec 2 15:22 labels\n")
    outcome = compare_text(page, real, line=126)
    assert outcome.verdict == Verdict.DRIFT       # months, days and generated names are volatile
    wrong = compare_text(page.replace("/etc/podinfo/..", "/etc/.."), real, line=126)
    assert wrong.verdict == Verdict.FAIL
    assert wrong.reason == ("output differs from the page at line 129: page "
                            "'/etc/..2982_06_02_21_47_53.299460680:' is not in the real output")
    # without an elision the page shows the whole output: an extra real line is a difference
    assert compare_text("a\nb\n", "a\nx\nb\n").verdict == Verdict.FAIL


def test_month_names_of_dates_are_volatile_but_other_words_are_not():
    assert compare_text("Feb 6 21:47 labels", "Dec 2 15:22 labels").verdict == Verdict.DRIFT
    assert compare_text("Feb labels", "Dec labels").verdict == Verdict.FAIL
