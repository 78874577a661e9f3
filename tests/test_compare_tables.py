"""Tables: parsing with and without alignment, and the page-wide PID bindings of the ps outputs.

Fixtures in tests/data/compare: page_* are the share-process-namespace page's blocks verbatim
(id: aligned, ja: alignment lost); handwritten_ps_*.official-busybox.txt are HAND-WRITTEN in the
shape the official busybox image's ps prints (PID USER TIME COMMAND) with Debian's nginx users:
no runtime here produced them (Debian's busybox-static ps has no TIME column). What a runtime
really printed is in tests/data/recorded/ (test_recorded_outputs.py).
"""
from pathlib import Path

import pytest

from conformance.compare import Bindings, compare_output, compare_table, parse_table
from conformance.verdict import Verdict

DATA = Path(__file__).parent / "data" / "compare"
# page line of each block's first output line (the header), as in the seeds
BEFORE_LINE = {"id": 55, "ja": 36}
AFTER_LINE = {"id": 69, "ja": 49}


def data(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def page(name: str, lang: str) -> str:
    return data(f"page_{name}.{lang}.txt")


def run_before(lang: str, bindings: Bindings, real: str | None = None):
    return compare_output(page("ps_before", lang), real or data("handwritten_ps_before.official-busybox.txt"),
                          bindings, command="ps ax", line=BEFORE_LINE[lang])


def run_after(lang: str, bindings: Bindings, real: str | None = None, page_text: str | None = None):
    return compare_output(page_text or page("ps_after", lang),
                          real or data("handwritten_ps_after.official-busybox.txt"), bindings,
                          command="ps ax", line=AFTER_LINE[lang])


# ---- parsing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang, aligned", [("id", True), ("ja", False)])
def test_both_languages_parse_to_the_same_table(lang, aligned):
    table = parse_table(page("ps_before", lang))
    assert table.aligned is aligned
    assert table.columns == ["PID", "USER", "TIME", "COMMAND"]
    assert table.key_column == "COMMAND"
    assert [r.cells for r in table.rows] == [
        {"PID": "1", "USER": "root", "TIME": "0:00", "COMMAND": "/pause"},
        {"PID": "8", "USER": "root", "TIME": "0:00", "COMMAND": "nginx: master process nginx -g daemon off;"},
        {"PID": "14", "USER": "101", "TIME": "0:00", "COMMAND": "nginx: worker process"},
        {"PID": "15", "USER": "root", "TIME": "0:00", "COMMAND": "sh"},
        {"PID": "21", "USER": "root", "TIME": "0:00", "COMMAND": "ps ax"},
    ]
    assert [r.offset for r in table.rows] == [1, 2, 3, 4, 5]


def test_real_output_with_trailing_spaces_and_carriage_returns():
    real = data("handwritten_ps_before.official-busybox.txt").replace("\n", "  \r\r\n")
    table = parse_table(real)
    assert table.aligned
    assert table.rows[-1].cells == {"PID": "41", "USER": "root", "TIME": "0:00", "COMMAND": "{ps} sh"}
    assert table.rows[2].cells["USER"] == "www-data"


def test_two_word_headers_and_blank_cells_of_aligned_kubectl_tables():
    events = ("LAST SEEN   TYPE     REASON      OBJECT      MESSAGE\n"
              "5s          Normal   Scheduled   pod/nginx   Successfully assigned default/nginx to node\n"
              "<unknown>   Normal   Pulled      pod/nginx   Container image \"nginx\" already present\n")
    table = parse_table(events)
    assert table.aligned
    assert table.columns == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert table.rows[1].cells["LAST SEEN"] == "<unknown>"
    assert table.rows[0].cells["MESSAGE"] == "Successfully assigned default/nginx to node"
    # short values only: the second word's column holds nothing and joins the first
    short = "LAST SEEN   TYPE     REASON\n5s          Normal   Scheduled\n2m          Normal   Pulled\n"
    assert parse_table(short).columns == ["LAST SEEN", "TYPE", "REASON"]
    # a column left blank in some rows (docker ps PORTS) keeps its place
    docker = ("CONTAINER ID   IMAGE   COMMAND                  PORTS     NAMES\n"
              "1a2b3c4d5e6f   nginx   \"nginx -g 'daemon of…\"   80/tcp    web\n"
              "6f5e4d3c2b1a   redis   \"redis-server\"                     cache\n")
    table = parse_table(docker)
    assert table.columns == ["CONTAINER ID", "IMAGE", "COMMAND", "PORTS", "NAMES"]
    assert table.rows[1].cells["PORTS"] == "" and table.rows[1].cells["NAMES"] == "cache"
    assert table.rows[0].cells["COMMAND"] == "\"nginx -g 'daemon of…\""


def test_procps_header_with_single_spaces_between_real_columns():
    ps_aux = ("USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n"
              "root           1  0.0  0.0   1000   400 ?        Ss   10:00   0:00 /pause\n"
              "root           7  0.0  0.1  10000  6000 ?        Ss   10:00   0:00 nginx: master process nginx\n")
    table = parse_table(ps_aux)
    assert table.aligned
    assert table.columns == ["USER", "PID", "%CPU", "%MEM", "VSZ", "RSS", "TTY", "STAT", "START", "TIME", "COMMAND"]
    assert table.rows[1].cells["PID"] == "7" and table.rows[1].cells["COMMAND"] == "nginx: master process nginx"


def test_a_row_that_lost_its_alignment_falls_back_to_whitespace_splitting():
    text = "PID   USER     TIME  COMMAND\n    1 root      0:00 /pause\n8 root 0:00 nginx: master process\n"
    table = parse_table(text)
    assert not table.aligned
    assert table.rows[1].cells == {"PID": "8", "USER": "root", "TIME": "0:00", "COMMAND": "nginx: master process"}


def test_not_a_table():
    assert parse_table("Hello from the pod\n") is None
    assert parse_table("") is None


# ---- the page run: ps, kill -HUP 8, ps -------------------------------------------------------------

@pytest.mark.parametrize("lang", ["id", "ja"])
def test_first_ps_drifts_and_binds_pids(lang):
    bindings = Bindings()
    outcome = run_before(lang, bindings)
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons == [
        "USER of 'nginx: worker process': page 101, real www-data",
        "page shows 1 'nginx: worker process', saw 2",
        ("COMMAND of 'ps ax': page 'ps ax', real '{ps} sh' "
        "(busybox ps prints '{ps} sh' for a process named ps whose command line is 'sh')"),
    ]
    assert bindings.real_pids(1) == {1}
    assert bindings.real_pids(8) == {7}
    assert bindings.real_pids(14) == {33, 34}
    assert bindings.real_pids(15) == {35}
    assert bindings.real_pids(21) == {41}
    assert bindings.get("pid", 14).line == BEFORE_LINE[lang] + 3


def test_first_ps_diff_is_aligned_and_names_page_lines():
    outcome = run_before("ja", Bindings())
    assert outcome.diff.splitlines() == [
        "          PID  USER      TIME  COMMAND",
        "line 37 =   1  root      0:00  /pause",
        "line 38 =   8  root      0:00  nginx: master process nginx -g daemon off;   (PID 8 -> 7)",
        "line 39 ~  14  101       0:00  nginx: worker process",
        "  real     33  www-data  0:00  nginx: worker process                        (PID 14 -> 33)",
        "  real     34  www-data  0:00  nginx: worker process                        (PID 14 -> 34)",
        "          drift: USER 101 != www-data; page shows 1, saw 2",
        "line 40 =  15  root      0:00  sh                                           (PID 15 -> 35)",
        "line 41 ~  21  root      0:00  ps ax",
        "  real     41  root      0:00  {ps} sh                                      (PID 21 -> 41)",
        "          drift: COMMAND 'ps ax' != '{ps} sh' (busybox {name} args)",
    ]


@pytest.mark.parametrize("lang", ["id", "ja"])
def test_second_ps_after_hup_binds_the_new_workers(lang):
    bindings = Bindings()
    run_before(lang, bindings)
    assert bindings.resolve_command("kill -HUP 8") == "kill -HUP 7"
    outcome = run_after(lang, bindings)
    assert outcome.verdict == Verdict.DRIFT
    assert not any("PID" in reason for reason in outcome.reasons)
    assert bindings.real_pids(22) == {42, 43}
    assert bindings.real_pids(23) == {44}
    assert bindings.real_pids(14) == {33, 34}  # the first binding is kept
    assert bindings.real_pids(8) == {7}


def test_identical_output_passes_and_binds():
    bindings = Bindings()
    outcome = compare_output(page("ps_before", "id"), page("ps_before", "ja"), bindings, line=55)
    assert outcome.verdict == Verdict.PASS
    assert outcome.reason == ("table matches the page (5 rows); PID 1 -> 1; PID 8 -> 8; PID 14 -> 14; "
                              "PID 15 -> 15; PID 21 -> 21")
    assert outcome.diff == ""


def test_page_keeping_the_worker_pid_after_hup_fails():
    """A page mutated to show worker 14 again after the HUP, while the real worker was replaced."""
    bindings = Bindings()
    run_before("id", bindings)
    mutated = page("ps_after", "id").replace("   22 101 ", "   14 101 ")
    outcome = run_after("id", bindings, page_text=mutated)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons[0] == ("PID 14 ('nginx: worker process') was real PIDs 33, 34 at line 58; "
                                  "now 'nginx: worker process' is PIDs 42, 43")
    lines = outcome.diff.splitlines()
    start = lines.index("line 73 !  14  101       0:00  nginx: worker process")
    assert lines[start + 1:start + 5] == [
        "  real     42  www-data  0:00  nginx: worker process                        (real PID 42)",
        "  real     43  www-data  0:00  nginx: worker process                        (real PID 43)",
        ("          fail: PID 14 ('nginx: worker process') was real PIDs 33, 34 at line 58; "
        "now 'nginx: worker process' is PIDs 42, 43"),
        "          drift: USER 101 != www-data; page shows 1, saw 2",
    ]


def test_workers_keeping_their_pids_while_the_page_shows_new_ones_fails():
    bindings = Bindings()
    run_before("id", bindings)
    stale = data("handwritten_ps_after.official-busybox.txt").replace("   42 www-data", "   33 www-data").replace(
        "   43 www-data", "   34 www-data")
    outcome = run_after("id", bindings, real=stale)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons[0] == ("documented PIDs 14 (line 58) and 22 are different processes on the page, "
                                  "but both are real PIDs 33, 34")
    assert bindings.get("pid", 22) is None  # nothing recorded for a contradicted binding


def test_master_pid_changing_fails():
    bindings = Bindings()
    run_before("id", bindings)
    restarted = data("handwritten_ps_after.official-busybox.txt").replace("    7 root", "   50 root")
    outcome = run_after("id", bindings, real=restarted)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons[0] == ("PID 8 ('nginx: master process nginx -g daemon off;') was real PID 7 at line 57; "
                                  "now 'nginx: master process nginx -g daemon off;' is PID 50")


def test_master_missing_fails():
    real = "\n".join(line for line in data("handwritten_ps_before.official-busybox.txt").splitlines()
                     if "master" not in line)
    outcome = run_before("ja", Bindings(), real=real)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons[0] == ("process 'nginx: master process nginx -g daemon off;' documented at line 38 "
                                  "is not running")
    assert "line 38 !   8  root      0:00  nginx: master process nginx -g daemon off;" in outcome.diff


def test_pid_1_running_something_else_fails():
    real = ("PID   USER     TIME  COMMAND\n"
            "    1 root      0:00 sh\n"
            "    7 root      0:00 nginx: master process nginx -g daemon off;\n"
            "   33 www-data  0:00 nginx: worker process\n"
            "   41 root      0:00 {ps} sh\n")
    outcome = run_before("id", Bindings(), real=real)
    assert outcome.verdict == Verdict.FAIL
    assert "process '/pause' documented at line 56 is not running" in outcome.reasons
    assert "real PID 1 is the first process of its PID namespace, but the page shows 'sh' as PID 15" \
        in outcome.reasons


def test_pid_1_is_not_a_free_placeholder():
    """/pause present but not as PID 1: the page's PID 1 claim is broken."""
    real = ("PID   USER     TIME  COMMAND\n"
            "    1 root      0:00 /sbin/init\n"
            "    5 root      0:00 /pause\n")
    page_text = "PID   USER     TIME  COMMAND\n    1 root      0:00 /pause\n"
    outcome = compare_output(page_text, real, Bindings(), line=10)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons[0] == ("PID 1 ('/pause') on the page is the first process of its PID namespace, "
                                  "but the real '/pause' is PID 5")


def test_missing_and_extra_columns_are_drift():
    real = "\n".join(" ".join(line.split()[:1] + line.split()[2:]) for line in
                     data("handwritten_ps_before.official-busybox.txt").splitlines())  # no USER column
    outcome = run_before("id", Bindings(), real=real)
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons[0] == "column USER not shown by the real output"
    assert not any(reason.startswith("USER of") for reason in outcome.reasons)

    procps = ("    PID TTY      STAT   TIME COMMAND\n"
              "      1 ?        Ss     0:00 /pause\n"
              "      7 ?        Ss     0:00 nginx: master process nginx -g daemon off;\n"
              "     33 ?        S      0:00 nginx: worker process\n"
              "     35 pts/0    Ss     0:00 sh\n"
              "     41 pts/0    R+     0:00 ps ax\n")
    outcome = run_before("id", Bindings(), real=procps)
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons == [
        "column USER not shown by the real output",
        "real output has column TTY, not shown on the page",
        "real output has column STAT, not shown on the page",
    ]
    assert outcome.diff.splitlines()[:3] == [
        "          PID  -USER  TIME  +TTY   +STAT  COMMAND",
        "line 56 =   1  root   0:00  ?      Ss     /pause",
        "line 57 =   8  root   0:00  ?      Ss     nginx: master process nginx -g daemon off;   (PID 8 -> 7)",
    ]


def test_extra_real_process_is_drift_and_named():
    real = data("handwritten_ps_before.official-busybox.txt") + "   50 root      0:00 sleep 3600\n"
    outcome = run_before("id", Bindings(), real=real)
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons[-1] == "real output also shows 'sleep 3600' (PID 50), not on the page"
    assert outcome.diff.splitlines()[-1] == \
        "  real  +  50  root      0:00  sleep 3600                                   (not on the page)"


def test_bound_pid_picks_its_own_row_among_rows_of_the_same_command():
    page_text = "PID   USER     TIME  COMMAND\n   15 root      0:00 sh\n"
    bindings = Bindings()
    assert bindings.bind_pids(15, [60], line=3) == []
    real = "PID   USER     TIME  COMMAND\n   35 root      0:00 sh\n   60 root      0:00 sh\n"
    outcome = compare_output(page_text, real, bindings, line=20)
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons == ["page shows 1 'sh', saw 2"]
    assert outcome.diff.splitlines() == [
        "          PID  USER  TIME  COMMAND",
        "line 21 ~  15  root  0:00  sh",
        "  real     60  root  0:00  sh        (PID 15 -> 60)",
        "  real  +  35  root  0:00  sh        (not on the page)",
        "          drift: page shows 1, saw 2",
    ]


def test_two_documented_rows_of_the_same_command_share_the_real_rows_in_order():
    page_text = "PID   USER     TIME  COMMAND\n   15 root      0:00 sh\n   30 root      0:00 sh\n"
    real = "PID   USER     TIME  COMMAND\n   35 root      0:00 sh\n   60 root      0:00 sh\n"
    bindings = Bindings()
    assert compare_output(page_text, real, bindings).verdict == Verdict.PASS
    assert bindings.real_pids(15) == {35} and bindings.real_pids(30) == {60}


def test_program_path_and_argument_differences_are_drift():
    page_text = ("PID   USER     TIME  COMMAND\n"
                 "    8 root      0:00 nginx: master process nginx -g daemon off;\n"
                 "   21 root      0:00 ps\n")
    real = ("PID   USER     TIME  COMMAND\n"
            "    7 root      0:00 nginx: master process /usr/sbin/nginx -g daemon off;\n"
            "   41 root      0:00 ps ax\n")
    bindings = Bindings()
    outcome = compare_output(page_text, real, bindings)
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons == [
        ("COMMAND of 'nginx: master process nginx -g daemon off;': page 'nginx: master process nginx -g daemon "
        "off;', real 'nginx: master process /usr/sbin/nginx -g daemon off;'"),
        "COMMAND of 'ps': page 'ps', real 'ps ax'",
    ]
    assert bindings.real_pids(8) == {7}


def test_a_different_command_with_the_same_program_is_not_a_match():
    page_text = "PID   USER     TIME  COMMAND\n   14 101       0:00 nginx: worker process\n"
    real = "PID   USER     TIME  COMMAND\n   33 www-data  0:00 nginx: cache manager process\n"
    outcome = compare_output(page_text, real, Bindings(), line=5)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons == ["process 'nginx: worker process' documented at line 6 is not running",
                               "real output also shows 'nginx: cache manager process' (PID 33), not on the page"]


def test_ppid_column_shares_the_pid_namespace():
    page_text = ("UID          PID    PPID  C STIME TTY          TIME CMD\n"
                 "root           8       1  0 10:00 ?        00:00:00 nginx: master process nginx\n"
                 "101           14       8  0 10:00 ?        00:00:00 nginx: worker process\n")
    real = ("UID          PID    PPID  C STIME TTY          TIME CMD\n"
            "root           7       1  0 09:13 ?        00:00:00 nginx: master process nginx\n"
            "www-data      33       9  0 09:13 ?        00:00:00 nginx: worker process\n")
    outcome = compare_output(page_text, real, Bindings(), line=1)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons == [("PID 8 ('nginx: master process nginx') was real PID 7 at line 2; "
                               "now the PPID of 'nginx: worker process' is PID 9"),
                               "UID of 'nginx: worker process': page 101, real www-data"]
    # STIME is a start time: never compared
    assert not any("STIME" in reason for reason in outcome.reasons)


def test_elapsed_columns_are_not_compared_and_the_pass_says_so():
    page_text = ("NAME    READY   STATUS    RESTARTS   AGE\n"
                 "nginx   2/2     Running   0          10s\n")
    real = ("NAME    READY   STATUS    RESTARTS   AGE\n"
            "nginx   2/2     Running   0          3m12s\n")
    outcome = compare_output(page_text, real, Bindings(), command="kubectl get pod nginx")
    assert outcome.verdict == Verdict.PASS
    assert outcome.reason == "table matches the page (1 row); AGE not compared (elapsed times never match)"
    pending = real.replace("Running", "Pending")
    outcome = compare_output(page_text, pending, Bindings())
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons == ["STATUS of 'nginx': page Running, real Pending"]


def test_generated_pod_names_bind_like_placeholders():
    page_text = ("NAME                                READY   STATUS    RESTARTS   AGE\n"
                 "nginx-deployment-66b6c48dd5-4jw2p   1/1     Running   0          1m\n"
                 "nginx-deployment-66b6c48dd5-9vkkb   1/1     Running   0          1m\n")
    real = ("NAME                                READY   STATUS    RESTARTS   AGE\n"
            "nginx-deployment-7c5ddbdf54-x7k2q   1/1     Running   0          5s\n"
            "nginx-deployment-7c5ddbdf54-zt8rm   1/1     Running   0          5s\n")
    bindings = Bindings()
    outcome = compare_output(page_text, real, bindings)
    assert outcome.verdict == Verdict.PASS
    assert bindings.resolve_command("kubectl logs nginx-deployment-66b6c48dd5-9vkkb") == \
        "kubectl logs nginx-deployment-7c5ddbdf54-zt8rm"
    # the same documented pod later showing under another name is a broken binding
    renamed = real.replace("zt8rm", "q2w4r")
    outcome = compare_output(page_text, renamed, bindings)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons == [("generated name part 9vkkb ('nginx-deployment-66b6c48dd5-9vkkb') was real "
                               "generated name part zt8rm; now 'nginx-deployment-66b6c48dd5-9vkkb' is "
                               "generated name part q2w4r")]


def test_real_table_missing_its_key_column_fails():
    page_text = "PID   USER     TIME  COMMAND\n    1 root      0:00 /pause\n"
    real = "PID   USER\n    1 root\n"
    outcome = compare_table(parse_table(page_text), parse_table(real), Bindings(), line=3)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons[0] == ("the real table has no column COMMAND to match the page's rows by "
                                  "(page: PID USER TIME COMMAND; real: PID USER)")
    assert outcome.diff.splitlines() == ["line 4    page  1 root      0:00 /pause", "          real  1 root"]
