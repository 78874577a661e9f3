"""Page-wide bindings: binding rules and commands typed with documented PIDs."""
import copy

import pytest

from conformance.compare import Bindings, UnboundPlaceholder, split_generated_name


@pytest.fixture
def bindings() -> Bindings:
    """As after the page's first `ps ax`: master 8 -> 7, worker 14 -> two real workers."""
    b = Bindings()
    for documented, real, line in ((1, [1], 56), (8, [7], 57), (14, [33, 34], 58), (15, [35], 59)):
        assert b.bind_pids(documented, real, line=line, what=f"process {documented}") == []
    return b


def test_kill_signal_goes_to_the_bound_pid(bindings):
    assert bindings.resolve_command("kill -HUP 8") == "kill -HUP 7"
    assert bindings.resolve_command("kill -s HUP 8") == "kill -s HUP 7"
    assert bindings.resolve_command("kill -9 8") == "kill -9 7"
    assert bindings.resolve_command("kill --signal=HUP 8") == "kill --signal=HUP 7"
    assert bindings.resolve_command("/bin/kill -HUP 8 # reload") == "/bin/kill -HUP 7 # reload"


def test_kill_expands_a_pid_bound_to_several_processes(bindings):
    assert bindings.resolve_command("kill 8 14") == "kill 7 33 34"
    assert bindings.resolve_command("kill '14'") == "kill '33' '34'"
    assert bindings.resolve_command("kill -- -8") == "kill -- -7"  # process group 8


def test_proc_paths_take_the_lowest_bound_pid(bindings):
    assert bindings.resolve_command("head /proc/8/root/etc/nginx/nginx.conf") == \
        "head /proc/7/root/etc/nginx/nginx.conf"
    assert bindings.resolve_command("ls /proc/8/") == "ls /proc/7/"
    assert bindings.resolve_command("cat /proc/14/status") == "cat /proc/33/status"
    assert bindings.resolve_command('cat "/proc/8/root/etc/my file.conf" | grep -v "#"') == \
        'cat "/proc/7/root/etc/my file.conf" | grep -v "#"'
    assert bindings.resolve_command("nsenter --root=/proc/8/root ls") == "nsenter --root=/proc/7/root ls"


def test_other_numbers_are_left_alone(bindings):
    assert bindings.resolve_command("head -n 8 /etc/hosts") == "head -n 8 /etc/hosts"
    assert bindings.resolve_command("sleep 14") == "sleep 14"
    assert bindings.resolve_command("kill -l 15") == "kill -l 15"  # signal 15, not a process
    assert bindings.resolve_command("kill -HUP 8 2>/dev/null; echo 14") == "kill -HUP 7 2>/dev/null; echo 14"
    assert bindings.resolve_command("ls /proc/self/root /host/proc/9") == "ls /proc/self/root /host/proc/9"
    assert bindings.resolve_command("kill %1") == "kill %1"


def test_pid_1_is_itself_even_before_any_output(bindings):
    assert Bindings().resolve_command("kill -HUP 1") == "kill -HUP 1"
    assert bindings.resolve_command("ls /proc/1/root") == "ls /proc/1/root"


def test_unbound_pid_is_reported_with_the_command():
    with pytest.raises(UnboundPlaceholder) as raised:
        Bindings().resolve_command("head /proc/9/root/etc/x.conf")
    assert str(raised.value) == \
        "PID 9 in 'head /proc/9/root/etc/x.conf' was never shown by an earlier output on this page"
    assert raised.value.documented == "9"
    with pytest.raises(UnboundPlaceholder, match=r"^PID 22 in 'kill -HUP 8 22'"):
        only_8 = Bindings()
        only_8.bind_pids(8, [7])
        only_8.resolve_command("kill -HUP 8 22")


def test_same_documented_pid_must_stay_the_same_process(bindings):
    assert bindings.bind_pids(8, [7], line=70) == []
    assert bindings.bind_pids(8, [50], line=70, what="nginx: master process") == [
        "PID 8 ('process 8') was real PID 7 at line 57; now 'nginx: master process' is PID 50"]
    assert bindings.real_pids(8) == {7}


def test_different_documented_pids_must_be_different_processes(bindings):
    assert bindings.bind_pids(22, [34, 40], line=73) == [
        "documented PIDs 14 (line 58) and 22 are different processes on the page, but both are real PID 34"]
    assert bindings.get("pid", 22) is None
    assert bindings.owner("pid", 40) is None
    assert bindings.bind_pids(22, [40, 41], line=73) == []
    assert bindings.get("pid", 22).describe() == "PID 22 was bound at line 73 to real 40, 41"


def test_pid_1_only_stands_for_itself(bindings):
    assert Bindings().bind_pids(1, [5], what="/pause") == [
        "PID 1 ('/pause') on the page is the first process of its PID namespace, but the real '/pause' is PID 5"]
    assert Bindings().bind_pids(15, [1], what="sh") == [
        "real PID 1 is the first process of its PID namespace, but the page shows 'sh' as PID 15"]


def test_bindings_survive_a_deep_copy(bindings):
    """The runner tries a comparison on a copy and keeps it only when accepted."""
    trial = copy.deepcopy(bindings)
    assert trial.bind_pids(22, [40]) == []
    assert bindings.get("pid", 22) is None and trial.real_pids(22) == {40}


def test_generated_name_parts():
    assert split_generated_name("nginx-deployment-66b6c48dd5-4jw2p") == ("nginx-deployment", ["66b6c48dd5", "4jw2p"])
    assert split_generated_name("pod/mypod-x7k2q") == ("pod/mypod", ["x7k2q"])
    assert split_generated_name("nginx-deployment-66b6c48dd5") == ("nginx-deployment", ["66b6c48dd5"])
    assert split_generated_name("nginx") is None
    assert split_generated_name("share-process-namespace") is None  # vowels: not generated
    assert split_generated_name("web-0") is None


def test_bound_generated_names_are_rewritten_in_commands():
    b = Bindings()
    assert b.bind("name", "x7k2q", ["b8n4z"]) == []
    assert b.resolve_command("kubectl logs pod/mypod-x7k2q -c shell") == "kubectl logs pod/mypod-b8n4z -c shell"
    assert b.resolve_command("kubectl logs mypod-q2w4r") == "kubectl logs mypod-q2w4r"  # never shown: left as is


# ---- the PID table: every form types the bound real PID (hand-written commands) ----------------
# On the old code (kill and /proc only) every form below but kill and /proc was typed literally.

PID_FORMS = [
    ("kill -HUP 8", "kill -HUP 7"),
    ("kill -s TERM 8 14", "kill -s TERM 7 33 34"),
    ("ps -p 8", "ps -p 7"),
    ("ps -p 8,14 -o pid,comm", "ps -p 7,33,34 -o pid,comm"),
    ('ps -p "8 14"', 'ps -p "7 33 34"'),
    ("ps --pid 14", "ps --pid 33,34"),
    ("ps --pid=8", "ps --pid=7"),
    ("ps -p8", "ps -p7"),
    ("ps -fp 8", "ps -fp 7"),
    ("ps --ppid 8", "ps --ppid 7"),
    ("nsenter -t 8 -m -u -i -n -p ps", "nsenter -t 7 -m -u -i -n -p ps"),
    ("nsenter --target 14 --mount", "nsenter --target 33 --mount"),
    ("nsenter --target=8 --pid", "nsenter --target=7 --pid"),
    ("strace -p 8", "strace -p 7"),
    ("strace -f -p 14 -o out.txt", "strace -f -p 33 -o out.txt"),
    ("strace -fp 8", "strace -fp 7"),
    ("renice -n 5 -p 8", "renice -n 5 -p 7"),
    ("renice 5 -p 8 14", "renice 5 -p 7 33 34"),
    ("renice +5 8", "renice +5 7"),
    ("renice -5 8", "renice -5 7"),
    ("taskset -p 8", "taskset -p 7"),
    ("taskset -p 03 8", "taskset -p 03 7"),
    ("taskset -cp 0,1 14", "taskset -cp 0,1 33"),
    ("gdb -p 8", "gdb -p 7"),
    ("gdb --pid=8 -batch -ex bt", "gdb --pid=7 -batch -ex bt"),
    ("pidstat -p 8 1", "pidstat -p 7 1"),
    ("pidstat -p 8,14", "pidstat -p 7,33,34"),
    ("top -b -n 1 -p 14", "top -b -n 1 -p 33,34"),
    ("cat /proc/8/status", "cat /proc/7/status"),
    ("ls -l /proc/14/ns/", "ls -l /proc/33/ns/"),
    ("pgrep -P 8", "pgrep -P 7"),
    ("chrt -p 10 8", "chrt -p 10 7"),
    ("ionice -c 3 -p 8", "ionice -c 3 -p 7"),
    ("lsof -p 8", "lsof -p 7"),
    ("pmap -x 8", "pmap -x 7"),
    ("sudo strace -p 8 2>&1 | head", "sudo strace -p 7 2>&1 | head"),
]


@pytest.mark.parametrize(("typed", "resolved"), PID_FORMS, ids=[f[0] for f in PID_FORMS])
def test_each_pid_form_is_typed_as_the_bound_real_pid(bindings, typed, resolved):
    assert bindings.resolve_command(typed) == resolved


@pytest.mark.parametrize("typed", [f[0] for f in PID_FORMS if " 8" in f[0] or "8" in f[0].split()[-1]],
                         ids=[f[0] for f in PID_FORMS if " 8" in f[0] or "8" in f[0].split()[-1]])
def test_each_pid_form_with_an_unbound_pid_is_the_same_clear_error(typed):
    only_14 = Bindings()
    only_14.bind_pids(14, [33])
    with pytest.raises(UnboundPlaceholder) as raised:
        only_14.resolve_command(typed)
    assert str(raised.value) == f"PID 8 in {typed!r} was never shown by an earlier output on this page"


@pytest.mark.parametrize("typed", [
    "renice -n 5 -u 8",          # -u: 8 is a user id
    "taskset 03 sleep 8",        # no -p: runs a command
    "ionice -c 3 sleep 8",       # no -p: runs a command
    "strace -e trace=open sleep 8",
    "top -d 8",
    "ps -o pid,comm 8",          # ps takes no bare PIDs here (BSD `ps p 8` is not recognised)
    "pidstat -p ALL 8",
    "nsenter -t 1 -p ps",        # PID 1 is itself
    "gdb -batch 8",
])
def test_numbers_that_are_not_pids_stay(bindings, typed):
    assert bindings.resolve_command(typed) == typed


def test_the_table_names_every_program_once():
    from conformance.compare.bindings import PID_COMMANDS, PID_COMMANDS_BY_PROGRAM
    assert len(PID_COMMANDS_BY_PROGRAM) == len(PID_COMMANDS)
    for spec in PID_COMMANDS:
        assert spec.pid_options or spec.positional != "none", spec.program


# ---- pgrep / pidof output binds like a ps row --------------------------------------------------

def test_pgrep_output_binds_documented_pids():
    from conformance.compare.bindings import prints_pids
    assert prints_pids("pgrep nginx") and prints_pids("pidof nginx") and not prints_pids("pgrep nginx | wc -l")
    b = Bindings()
    assert b.bind_listed_pids("8\n", "7\n") == []
    assert b.resolve_command("kill -HUP 8") == "kill -HUP 7"
    # one documented worker stands for a worker per CPU
    assert b.bind_listed_pids("8 nginx\n14 nginx\n", "7 nginx\n33 nginx\n34 nginx\n") == []
    assert b.real_pids(14) == {33, 34}
    # pidof prints one line; after a HUP the master stays, the workers are new
    assert b.bind_listed_pids("22 8", "40 7") == []
    assert b.real_pids(22) == {40}


def test_pgrep_output_that_contradicts_the_bindings_says_so(bindings):
    assert bindings.bind_listed_pids("8\n", "9\n", what="pgrep nginx") == [
        "PID 8 of 'pgrep nginx' is real 7, not in the real output (9)"]
    assert Bindings().bind_listed_pids("8\n14\n15\n", "7\n9\n") == [
        "the page lists PIDs 8, 14, 15 of the list, the real output has 7, 9"]
    assert Bindings().bind_listed_pids("nginx is running\n", "7\n") is None  # not a PID list: text
