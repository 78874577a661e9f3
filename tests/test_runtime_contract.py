"""The runtime contract: what every runtime (podman, kind, kubeconfig) must do for a page.

One suite, run against each runtime make_runtime() knows. A runtime that cannot start here
is skipped with its own reason (RuntimeUnavailable). The pod (tests/data/runtime/
contract-pod.yaml) is the share-process-namespace page in small: busybox containers in one
PID namespace, a sleeper and a TTY shell.

The tests of a runtime share one pod and run in file order (the signal test restarts the
sleeper, the last one tears everything down).
"""
from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
import yaml

from conformance.runtime import RUNTIME_NAMES, PodRef, Runtime, RuntimeUnavailable, Session, make_runtime

MANIFEST = Path(__file__).resolve().parent / "data" / "runtime" / "contract-pod.yaml"
RUN = uuid.uuid4().hex[:6]
WAIT = 120.0          # bound for a pod to run (a cluster may pull images); podman takes < 1 s


@pytest.fixture(scope="module", params=RUNTIME_NAMES)
def runtime(request) -> Runtime:
    try:
        rt = make_runtime(request.param)
    except ImportError as err:
        pytest.skip(f"runtime {request.param} is not available: {err}")
    try:
        rt.start()
    except RuntimeUnavailable as err:
        pytest.skip(f"{request.param}: {err}")
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def namespace(runtime) -> str:
    return f"contract-{RUN}"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    """The contract pod under a name of this run (two runs on one machine do not meet)."""
    doc = yaml.safe_load(MANIFEST.read_text())
    doc["metadata"]["name"] = f"contract-{RUN}"
    path = tmp_path_factory.mktemp("contract") / MANIFEST.name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def pod(runtime, namespace, manifest) -> PodRef:
    try:
        pods = runtime.apply(manifest, namespace)
        assert len(pods) == 1
        runtime.wait_running(pods[0], timeout=WAIT)
        yield pods[0]
    finally:
        runtime.teardown(namespace)


@pytest.fixture
def shell(runtime, pod) -> Session:
    session = runtime.attach(pod, "shell")
    yield session
    session.close()


def ps_rows(output: str) -> list[tuple[int, str]]:
    """(pid, command) of each row of `ps ax` (busybox or procps: PID first, COMMAND last)."""
    lines = output.strip().splitlines()
    assert lines and lines[0].split()[0] == "PID", output
    header = lines[0]
    start = header.index("COMMAND") if "COMMAND" in header else header.index("CMD")
    rows = []
    for line in lines[1:]:
        fields = line.split()
        if fields and fields[0].isdigit():
            rows.append((int(fields[0]), line[start:].strip() if len(line) > start else fields[-1]))
    return rows


def pids_of(output: str, command: str) -> list[int]:
    return [pid for pid, cmd in ps_rows(output) if cmd == command]


def poll(check, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


# --- the contract ---------------------------------------------------------------------------------

def test_apply_gives_the_pod_and_its_containers(pod, namespace, manifest):
    assert pod.name == f"contract-{RUN}"
    assert pod.namespace == namespace
    assert set(pod.containers) == {"sleeper", "shell"}


def test_wait_running_returns_when_running(runtime, pod):
    started = time.monotonic()
    runtime.wait_running(pod, timeout=WAIT)
    assert time.monotonic() - started < 10


def test_exec_runs_a_command_with_its_status(runtime, pod):
    result = runtime.exec(pod, "sleeper", ["cat", "/tmp/sleeper-file"])
    assert (result.status, result.stdout) == (0, "sleeper-file\n")
    assert runtime.exec(pod, "sleeper", ["sh", "-c", "exit 3"]).status == 3


def test_one_pid_namespace_with_the_sandbox_as_pid_1(runtime, pod):
    result = runtime.exec(pod, "shell", ["ps", "ax"])
    rows = dict(ps_rows(result.stdout))
    assert rows[1].endswith("pause"), result.stdout          # the pod sandbox, PID 1
    assert pids_of(result.stdout, "sleep 3600"), result.stdout  # the other container's process


def test_session_types_commands(shell):
    assert shell.prompt.rstrip().endswith("#")
    typed = shell.type("echo hello")
    assert (typed.output, typed.status) == ("hello", 0)
    typed = shell.type("ls /no-such-path")
    assert "No such file" in typed.output and typed.status not in (None, 0)
    typed = shell.type("false")
    assert (typed.output, typed.status) == ("", 1)


def test_session_output_has_no_escape_sequences(shell):
    typed = shell.type("printf '\\033[1mbold\\033[0m and \\033[31mred\\033[0m\\n'")
    assert typed.output == "bold and red"
    typed = shell.type("ps ax")
    assert "\x1b" not in typed.output and "\r" not in typed.output
    assert typed.output.splitlines()[0].split()[0] == "PID"


def test_closing_a_session_leaves_the_shell_running(runtime, pod, shell):
    shell.close()
    runtime.wait_running(pod, timeout=10)
    again = runtime.attach(pod, "shell")
    try:
        assert again.type("echo still here").output == "still here"
    finally:
        again.close()


def test_read_a_file_of_the_other_container_through_proc(shell):
    pid = pids_of(shell.type("ps ax").output, "sleep 3600")[0]
    typed = shell.type(f"cat /proc/{pid}/root/tmp/sleeper-file")
    assert (typed.output, typed.status) == ("sleeper-file", 0)
    assert shell.type("cat /tmp/sleeper-file").status != 0     # not in the shell's own filesystem


def test_logs(runtime, pod):
    assert "sleeper started" in runtime.logs(pod, "sleeper")


def test_signal_a_process_of_the_other_container(runtime, pod, shell):
    before = pids_of(shell.type("ps ax").output, "sleep 3600")
    assert len(before) == 1
    typed = shell.type(f"kill {before[0]}")
    assert typed.status == 0

    def restarted():
        now = pids_of(runtime.exec(pod, "shell", ["ps", "ax"]).stdout, "sleep 3600")
        return now if now and before[0] not in now else None

    now = poll(restarted, timeout=WAIT)
    assert now, f"sleep {before[0]} was not replaced by a restarted one"
    runtime.wait_running(pod, timeout=WAIT)


def test_events_mention_the_pod(runtime, pod):
    events = runtime.events(pod)
    assert pod.name in events, events
    if runtime.name == "podman":
        assert re.search(r"container start .*" + re.escape(pod.name), events)


def test_teardown_leaves_nothing_and_is_safe_twice(runtime, pod, namespace):
    runtime.teardown(namespace)
    runtime.teardown(namespace)
    assert_gone(runtime, pod)


def assert_gone(runtime: Runtime, pod: PodRef) -> None:
    if runtime.name == "podman":
        exists = runtime._call(["pod", "exists", pod.name]).returncode
        assert exists != 0, f"pod {pod.name} still in project storage"
        left = runtime._call(["ps", "-a", "--format", "{{.Names}}"]).stdout.split()
        assert not [name for name in left if name.startswith(pod.name + "-")], left
    elif runtime.kubernetes_api:
        def gone():
            result = runtime.kubectl(["kubectl", "get", "pod", pod.name, "--ignore-not-found", "-o", "name"],
                                     pod.namespace)
            return result.stdout.strip() == ""
        assert poll(gone, timeout=WAIT, interval=1.0), f"pod {pod.name} still exists"
