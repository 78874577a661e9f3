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
