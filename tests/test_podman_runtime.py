"""The podman runtime on this machine: what only podman does (the contract is in
test_runtime_contract.py).

These tests use their own cache dir (own podman storage, own images: busybox built offline
once, ~2 s), so cleaning everything up never touches the pods of a real run. They skip with
the reason where podman cannot run here.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from conformance.runtime import RuntimeLimit, RuntimeUnavailable, StepError, make_runtime
from conformance.runtime.images import _UNREACHABLE, ImageStore, ImageUnavailable
from conformance.runtime.podman import PodmanRuntime, cgroup_mode, cleanup_all, host_hard_limits

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "tests" / "data" / "runtime" / "contract-pod.yaml"
pytestmark = pytest.mark.podman


def write_manifest(path: Path, name: str, *, share: bool = True, containers: list | None = None,
                   restart: str | None = None) -> Path:
    spec: dict = {"containers": containers or [
        {"name": "main", "image": "busybox", "command": ["sh", "-c", "echo up; exec sleep 3600"]}]}
    if share:
        spec["shareProcessNamespace"] = True
    if restart:
        spec["restartPolicy"] = restart
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                                    "spec": spec}, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("podman-cache")
    yield path
    cleanup_all(path)


@pytest.fixture(scope="module")
def runtime(cache) -> PodmanRuntime:
    rt = PodmanRuntime(cache_dir=cache)
    try:
        rt.start()
    except RuntimeUnavailable as err:
        pytest.skip(str(err))
    try:
        rt.ensure_images(CONTRACT)
    except ImageUnavailable as err:
        pytest.skip(f"cannot build busybox offline here: {err}")
    yield rt
    rt.close()


@pytest.fixture
def ns(runtime, request) -> str:
    name = request.node.name.replace("_", "-")[:40]
    yield name
    runtime.teardown(name)


def pods_in_storage(runtime: PodmanRuntime) -> list[str]:
    return runtime._call(["pod", "ps", "--format", "{{.Name}}"], check=True).stdout.split()


# --- start and configuration --------------------------------------------------------------------

def test_missing_podman_is_reported_plainly(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeUnavailable, match=r"podman not found.*apt-get install podman runc"):
        PodmanRuntime(cache_dir=tmp_path).start()


def test_unknown_options_are_refused(tmp_path):
    with pytest.raises(TypeError, match="unknown options"):
        make_runtime("podman", cache_dir=tmp_path, colour="blue")


def test_start_writes_the_projects_own_config(runtime, cache):
    conf = (cache / "containers.conf").read_text()
    assert f'tmp_dir = "{runtime.paths.tmp_dir}"' in conf
    assert runtime.paths.tmp_dir.is_relative_to(runtime.paths.runroot)
    settings = runtime.settings
    hard = host_hard_limits()
    for name, value in settings["ulimits"].items():
        assert hard[name] is None or value <= hard[name]
        assert f"{name}={value}:{value}" in conf
    if cgroup_mode() != "unified":
        assert settings["runtime"] == "runc"            # crun needs cgroup v2 alone
    assert settings["storage_driver"] in ("overlay", "vfs")
    assert (cache / "storage" / settings["storage_driver"]).is_dir()
    info = runtime._call(["info", "--format", "{{.Store.GraphRoot}} {{.Store.RunRoot}} {{.Host.OCIRuntime.Name}}"])
    graphroot, runroot, oci = info.stdout.split()
    assert graphroot.startswith(str(cache))
    assert runroot == str(runtime.paths.runroot) and len(runroot) <= 50   # podman's limit
    assert oci == settings["runtime"]


def test_second_start_uses_the_cached_detection(runtime, cache):
    host = cache / "host.json"
    stamp = host.stat().st_mtime_ns
    again = PodmanRuntime(cache_dir=cache)
    started = time.monotonic()
    again.start()
    elapsed = time.monotonic() - started
    again.close()
    assert host.stat().st_mtime_ns == stamp
    assert again.settings == runtime.settings
    assert elapsed < 2.0


def _tree(root: Path, depth: int = 4) -> dict[str, float]:
    """Every path under root (to `depth` levels) with its modification time."""
    if not root.exists():
        return {}
    paths = [root] + [p for level in range(1, depth + 1) for p in root.glob("/".join(["*"] * level))]
    return {str(p): p.lstat().st_mtime for p in paths}


def test_the_users_own_podman_storage_is_not_touched(runtime, ns, tmp_path):
    # the default storage of the user's own podman, and its network config: nothing added,
    # removed or written while a pod of the suite is created, run and removed
    watched = [Path("/var/lib/containers"), Path("/etc/containers/networks"), Path("/run/containers")]
    before = {str(root): _tree(root) for root in watched}
    pods = runtime.apply(write_manifest(tmp_path / "p.yaml", "untouched"), ns)
    runtime.wait_running(pods[0])
    runtime.teardown(ns)
    after = {str(root): _tree(root) for root in watched}
    assert after == before


# --- images ---------------------------------------------------------------------------------------

def test_images_report_where_they_came_from(runtime):
    sources = {info.reference: info.source for info in runtime.images()}
    assert "built offline" in sources["pause (pod sandbox)"]
    assert "docker.io/library/busybox:latest" in sources["busybox"]
    assert "pulled" in sources["busybox"] or "busybox-static" in sources["busybox"]


def test_kube_play_uses_the_local_image_for_a_short_name(runtime, ns, tmp_path):
    pods = runtime.apply(write_manifest(tmp_path / "p.yaml", "shortname"), ns)
    image = runtime._call(["container", "inspect", "--format", "{{.ImageName}}", f"{pods[0].name}-main"])
    assert image.stdout.strip() == "docker.io/library/busybox:latest"


def test_an_image_nobody_can_provide_is_named_with_the_reason(runtime, ns, tmp_path):
    manifest = write_manifest(tmp_path / "p.yaml", "noimage", containers=[
        {"name": "x", "image": "registry.invalid/nothing/here:1"}])
    with pytest.raises(ImageUnavailable) as err:
        runtime.apply(manifest, ns)
    message = str(err.value)
    assert "registry.invalid/nothing/here:1" in message
    assert "no offline recipe" in message
    assert isinstance(err.value, RuntimeUnavailable) and isinstance(err.value, StepError)


@pytest.fixture
def silent_registry():
    """A registry on loopback that accepts connections and never answers (traffic stays local)."""
    import socket
    import threading
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held, stop = [], threading.Event()

    def hold() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for connection in held:
        connection.close()
    server.close()


def test_pull_is_bounded_and_an_unreachable_registry_tried_once(runtime, silent_registry):
    registry = silent_registry
    _UNREACHABLE.pop(registry, None)
    store = ImageStore(runtime._podman, runtime.cache_dir, probe_timeout=2.0)
    started = time.monotonic()
    with pytest.raises(ImageUnavailable, match="does not answer") as err:
        store.ensure(f"{registry}/app:1")
    assert time.monotonic() - started < 2.0 + 3.0
    assert err.value.diagnostics                       # the registry's own words, for the report
    assert registry in ImageStore.unreachable()
    started = time.monotonic()
    with pytest.raises(ImageUnavailable, match="does not answer"):
        store.ensure(f"{registry}/other:2")
    assert time.monotonic() - started < 0.5          # not probed again in this process


# --- pods -----------------------------------------------------------------------------------------

def test_shared_pid_namespace_has_pause_as_pid_1(runtime, ns, tmp_path):
    pods = runtime.apply(CONTRACT, ns)
    runtime.wait_running(pods[0])
    out = runtime.exec(pods[0], "shell", ["ps", "ax"]).stdout
    first = out.splitlines()[1].split()
    assert (first[0], first[-1]) == ("1", "/pause")
    assert "sleep 3600" in out


def test_without_sharing_each_container_has_its_own_pid_namespace(runtime, ns, tmp_path):
    pods = runtime.apply(write_manifest(tmp_path / "p.yaml", "private-pids", share=False), ns)
    runtime.wait_running(pods[0])
    out = runtime.exec(pods[0], "main", ["ps", "ax"]).stdout
    assert out.splitlines()[1].split()[0] == "1"
    assert "sleep 3600" in out.splitlines()[1]
    assert "/pause" not in out


def test_pods_have_loopback_only(runtime, ns, tmp_path):
    pods = runtime.apply(write_manifest(tmp_path / "p.yaml", "net"), ns)
    runtime.wait_running(pods[0])
    links = runtime.exec(pods[0], "main", ["ip", "-o", "link"]).stdout
    assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"]


def test_wait_running_fails_fast_with_diagnostics(runtime, ns, tmp_path):
    manifest = write_manifest(tmp_path / "p.yaml", "crash", restart="Never", containers=[
        {"name": "main", "image": "busybox", "command": ["sh", "-c", "echo going down; exit 3"]}])
    pods = runtime.apply(manifest, ns)
    started = time.monotonic()
    with pytest.raises(StepError, match="exited") as err:
        runtime.wait_running(pods[0], timeout=30)
    assert time.monotonic() - started < 10
    assert "exit=3" in err.value.diagnostics and "going down" in err.value.diagnostics


def test_a_stale_pod_of_a_crashed_run_is_replaced(runtime, ns, tmp_path, cache):
    manifest = write_manifest(tmp_path / "p.yaml", "stale")
    first = runtime.apply(manifest, ns)[0]
    old_id = runtime._pod_ids[first.name]
    # as if the run that made it had died: its owner file names a process that is gone
    (runtime.paths.owners / first.name).write_text("999999999 0\n")
    other = PodmanRuntime(cache_dir=cache)
    other.start()
    try:
        pods = other.apply(manifest, "another")
        assert pods[0].name == "stale" and other._pod_ids["stale"] != old_id
    finally:
        other.close()
    assert "stale" not in pods_in_storage(runtime)


def test_a_pod_of_another_live_run_is_left_alone(runtime, ns, tmp_path):
    manifest = write_manifest(tmp_path / "p.yaml", "busy")
    runtime.apply(manifest, ns)
    start_time = Path("/proc/1/stat").read_text().rsplit(")", 1)[1].split()[19]
    (runtime.paths.owners / "busy").write_text(f"1 {start_time}\n")      # pid 1 is alive
    with pytest.raises(StepError, match="another running conformance process"):
        runtime.apply(manifest, ns)
    assert "busy" in pods_in_storage(runtime)


def test_delete_removes_the_pod_now(runtime, ns, tmp_path):
    pod = runtime.apply(write_manifest(tmp_path / "p.yaml", "deleted"), ns)[0]
    runtime.delete(pod)
    assert "deleted" not in pods_in_storage(runtime)
    runtime.delete(pod)                      # already gone: no error


def test_exec_session_leaves_no_process_behind(runtime, ns):
    pod = runtime.apply(CONTRACT, ns)[0]
    runtime.wait_running(pod)
    session = runtime.exec_session(pod, "shell", ["sh"])
    assert session.type("echo inside").output == "inside"
    session.close()
    out = runtime.exec(pod, "sleeper", ["ps", "ax"]).stdout
    shells = [line for line in out.splitlines()[1:] if line.split()[-1] == "sh"]
    assert len(shells) == 1, out               # the shell container's own sh only


def test_unknown_container_is_named(runtime, ns):
    pod = runtime.apply(CONTRACT, ns)[0]
    with pytest.raises(StepError, match="no container 'nope'.*sleeper, shell"):
        runtime.exec(pod, "nope", ["true"])


def test_cleanup_all_removes_every_pod(runtime, tmp_path):
    runtime.apply(write_manifest(tmp_path / "a.yaml", "left-a"), "left")
    runtime.apply(write_manifest(tmp_path / "b.yaml", "left-b"), "left")
    removed = cleanup_all(runtime.cache_dir)
    assert {"left-a", "left-b"} <= set(removed)
    assert pods_in_storage(runtime) == []
    runtime.teardown("left")                 # its pods are gone already: still fine


# --- an interrupted run ---------------------------------------------------------------------------

SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from conformance.runtime.podman import PodmanRuntime
    rt = PodmanRuntime(cache_dir=Path(sys.argv[1]))
    rt.start()
    rt.apply(Path(sys.argv[2]), "interrupted")
    print("ready", flush=True)
    time.sleep(60)
""")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_an_interrupted_run_removes_its_pods(runtime, tmp_path, signum):
    name = f"interrupted-{signum.name.lower()}"
    manifest = write_manifest(tmp_path / "p.yaml", name)
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(runtime.cache_dir), str(manifest)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert name in pods_in_storage(runtime)
        proc.send_signal(signum)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert name not in pods_in_storage(runtime)


# --- offline builds -------------------------------------------------------------------------------

def test_an_offline_recipe_is_built_cached_and_rebuilt_when_it_changes(runtime):
    from conformance.runtime.images import Recipe
    repository = "registry.invalid/conformance/tiny"

    def recipe(greeting: str) -> Recipe:
        return Recipe(repository, rootfs={"debs": ["busybox-static"]},
                      files={"/greeting": greeting + "\n"}, config={"cmd": ["/bin/busybox", "cat", "/greeting"]})

    def store(greeting: str) -> ImageStore:
        return ImageStore(runtime._podman, runtime.cache_dir, recipes={repository: recipe(greeting)})

    def run(name: str) -> str:
        return runtime._call(["run", "--rm", "--network", "none", name]).stdout.strip()

    info = store("hello").ensure(f"{repository}:1.0")
    assert "built offline from Debian packages: busybox-static" in info.source
    assert run(f"{repository}:1.0") == "hello"
    again = store("hello").ensure(f"{repository}:1.0")          # a later run
    assert again.source.endswith("(cached)")
    other_tag = store("hello").ensure(f"{repository}:2.0")      # same recipe, another tag: no build
    assert other_tag.source.endswith("(cached)")
    changed = store("bonjour").ensure(f"{repository}:1.0")
    assert not changed.source.endswith("(cached)")
    assert run(f"{repository}:1.0") == "bonjour"


def test_one_pod_name_in_two_namespaces_of_a_run_is_refused(runtime, tmp_path):
    manifest = write_manifest(tmp_path / "p.yaml", "twice")
    try:
        runtime.apply(manifest, "first")
        with pytest.raises(StepError, match="created in namespace first"):
            runtime.apply(manifest, "second")
        assert runtime.apply(manifest, "first")[0].name == "twice"       # same namespace: replaced
    finally:
        runtime.teardown("first")
        runtime.teardown("second")
    assert "twice" not in pods_in_storage(runtime)


def test_a_manifest_that_always_pulls_needs_a_registry(runtime, ns, tmp_path):
    manifest = write_manifest(tmp_path / "p.yaml", "always-pulls", containers=[
        {"name": "main", "image": "busybox", "imagePullPolicy": "Always", "command": ["sleep", "60"]}])
    if "docker.io" not in ImageStore.unreachable():
        pytest.skip("a registry answers here: the pull would simply happen")
    with pytest.raises(ImageUnavailable, match="imagePullPolicy: Always"):
        runtime.apply(manifest, ns)


# --- manifests as the website writes them (the played copy, the host wall) ------------------------

def test_a_pod_with_container_ports_starts(runtime, ns, tmp_path):
    manifest = write_manifest(tmp_path / "p.yaml", "ports", containers=[
        {"name": "main", "image": "busybox", "command": ["sleep", "600"],
         "ports": [{"containerPort": 80}, {"containerPort": 8080, "hostPort": 8080}]}])
    pods = runtime.apply(manifest, ns)
    runtime.wait_running(pods[0])
    assert any("ports 80, 8080 (hostPort 8080) not published" in n for n in runtime.apply_notes())
    assert "ports:" in manifest.read_text()                   # the page's own file is left as it is


def test_a_hostpath_of_the_hosts_root_reaches_only_the_work_folder(runtime, ns, tmp_path):
    marker = f"conformance-marker-{os.getpid()}-{time.monotonic_ns()}"
    manifest = write_manifest(tmp_path / "p.yaml", "hostroot", restart="Never", containers=[
        {"name": "main", "image": "busybox",
         "command": ["sh", "-c", (f"mkdir -p /host/tmp /etc-host && touch /host/tmp/{marker} /host/{marker} "
                                 f"/etc-host/{marker} && echo wrote")],
         "volumeMounts": [{"name": "root", "mountPath": "/host"}, {"name": "etc", "mountPath": "/etc-host"}]}])
    data = yaml.safe_load(manifest.read_text())
    data["spec"]["volumes"] = [{"name": "root", "hostPath": {"path": "/"}},
                               {"name": "etc", "hostPath": {"path": "/etc", "type": "Directory"}}]
    manifest.write_text(yaml.safe_dump(data))
    pods = runtime.apply(manifest, ns)
    runtime.wait_running(pods[0], timeout=30)
    assert runtime.logs(pods[0]).strip() == "wrote"
    for host_path in (Path("/tmp") / marker, Path("/") / marker, Path("/etc") / marker):
        assert not host_path.exists(), f"the pod wrote {host_path} on the host"
    node = runtime.work_dir(ns) / "node"
    assert {p.relative_to(node).as_posix() for p in node.rglob(f"{marker}")} == {
        f"tmp/{marker}", marker, f"etc/{marker}"}
    runtime.teardown(ns)
    assert not runtime.work_dir(ns).exists()


@pytest.mark.parametrize("spec, why", [
    ({"securityContext": {"privileged": True}}, "privileged"),
    ({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}, "adds capabilities SYS_ADMIN"),
    ("hostPID", "hostPID: true would share the host's PID namespace"),
], ids=["privileged", "sys-admin", "host-pid"])
def test_host_access_is_refused_before_anything_runs(runtime, ns, tmp_path, spec, why):
    container = {"name": "main", "image": "busybox", "command": ["sleep", "600"]}
    if isinstance(spec, dict):
        container.update(spec)
    manifest = write_manifest(tmp_path / "p.yaml", "refused", containers=[container])
    if spec == "hostPID":
        data = yaml.safe_load(manifest.read_text())
        data["spec"]["hostPID"] = True
        manifest.write_text(yaml.safe_dump(data))
    with pytest.raises(RuntimeLimit) as err:
        runtime.apply(manifest, ns)
    assert why in err.value.reason and "runs on --runtime kind" in err.value.reason
    assert "refused" not in pods_in_storage(runtime)


def test_a_pod_that_runs_to_completion_is_accepted_and_its_logs_read(runtime, ns, tmp_path):
    text = textwrap.dedent("""
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
        data: {greeting: hello}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: printenv}
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: busybox
            command: ["sh", "-c", "echo GREETING=$GREETING; echo PLAIN=$PLAIN"]
            env:
            - {name: PLAIN, value: demo}
            - name: GREETING
              valueFrom: {configMapKeyRef: {name: settings, key: greeting}}
    """)
    (tmp_path / "p.yaml").write_text(text)
    pods = runtime.apply(tmp_path / "p.yaml", ns)
    runtime.wait_running(pods[0], timeout=30)
    state = runtime._states(pods[0])["printenv-main"]["State"]
    # podman shows a container whose process ended as "stopped" until its clean-up has run,
    # then "exited": both are the end of the process; exit code 0 is the point
    assert state["Status"] in ("exited", "stopped") and state["ExitCode"] == 0
    assert runtime.logs(pods[0]).splitlines() == ["GREETING=hello", "PLAIN=demo"]


def test_a_completed_job_pod_that_failed_is_a_fail_with_its_logs(runtime, ns, tmp_path):
    text = textwrap.dedent("""
        apiVersion: batch/v1
        kind: Job
        metadata: {name: failing}
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{name: main, image: busybox, command: ["sh", "-c", "echo broken; exit 4"]}]
    """)
    (tmp_path / "p.yaml").write_text(text)
    pods = runtime.apply(tmp_path / "p.yaml", ns)
    assert [p.name for p in pods] == ["failing"]
    with pytest.raises(StepError, match="exited") as err:
        runtime.wait_running(pods[0], timeout=30)
    assert "exit=4" in err.value.diagnostics and "broken" in err.value.diagnostics


def test_a_cronjob_is_a_runtime_limit(runtime, ns, tmp_path):
    (tmp_path / "c.yaml").write_text(textwrap.dedent("""
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: hello}
        spec:
          schedule: "* * * * *"
          jobTemplate: {spec: {template: {spec: {restartPolicy: OnFailure,
                                                  containers: [{name: m, image: busybox}]}}}}
    """))
    with pytest.raises(RuntimeLimit, match=r"podman kube play cannot create a CronJob \(hello\); runs on --runtime kind"):
        runtime.apply(tmp_path / "c.yaml", ns)


# --- what the kubelet does and kube play 4.3 does not ---------------------------------------------

def test_lifecycle_hooks_run_after_start_and_before_delete(runtime, ns, tmp_path):
    hooks = {"postStart": {"exec": {"command": ["sh", "-c", "echo Hello from postStart > /tmp/message"]}},
             "preStop": {"exec": {"command": ["sh", "-c", "echo stopping > /node/prestop"]}}}
    manifest = write_manifest(tmp_path / "p.yaml", "hooks", containers=[
        {"name": "main", "image": "busybox", "command": ["sleep", "3600"], "lifecycle": hooks,
         "volumeMounts": [{"name": "node", "mountPath": "/node"}]}])
    text = yaml.safe_load(manifest.read_text())
    text["spec"]["volumes"] = [{"name": "node", "hostPath": {"path": "/hooks"}}]
    manifest.write_text(yaml.safe_dump(text))
    pods = runtime.apply(manifest, ns)
    runtime.wait_running(pods[0])
    assert runtime.exec(pods[0], "main", ["cat", "/tmp/message"]).stdout == "Hello from postStart\n"
    assert any("postStart hook" in n and "run by the suite" in n for n in runtime.apply_notes())
    runtime.delete(pods[0])
    assert (runtime.work_dir(ns) / "node" / "hooks" / "prestop").read_text() == "stopping\n"
    assert "hooks" not in pods_in_storage(runtime)


def test_a_failing_post_start_hook_is_a_fail_with_its_output(runtime, ns, tmp_path):
    manifest = write_manifest(tmp_path / "p.yaml", "badhook", containers=[
        {"name": "main", "image": "busybox", "command": ["sleep", "3600"],
         "lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", "echo no such thing; exit 7"]}}}}])
    with pytest.raises(StepError, match=r"postStart hook of main .*failed \(exit 7\).*FailedPostStartHook") as err:
        runtime.apply(manifest, ns)
    assert not isinstance(err.value, RuntimeLimit) and "no such thing" in err.value.diagnostics


@pytest.mark.parametrize("policy, code, restarted", [
    ("Never", 1, False), ("OnFailure", 0, False), ("OnFailure", 1, True), ("Always", 0, True)])
def test_restart_policies_are_kubernetes_ones(runtime, ns, tmp_path, policy, code, restarted):
    # podman 4.3 kube play sets each container's restart policy from the pod's: no, on-failure, always
    name = f"restart-{policy.lower()}-{code}"
    pods = runtime.apply(write_manifest(tmp_path / "p.yaml", name, restart=policy, containers=[
        {"name": "main", "image": "busybox", "command": ["sh", "-c", f"echo run; exit {code}"]}]), ns)
    record = runtime._states(pods[0])[f"{name}-main"]
    assert record["HostConfig"]["RestartPolicy"]["Name"] == {"Never": "no", "OnFailure": "on-failure",
                                                              "Always": "always"}[policy]
    time.sleep(1.5)
    assert (runtime._states(pods[0])[f"{name}-main"]["RestartCount"] > 0) == restarted


def test_a_pod_that_runs_to_completion_sees_the_kubernetes_service_env(runtime, ns, tmp_path):
    # the define-command-argument page: `printenv HOSTNAME KUBERNETES_PORT` with OnFailure exits 0 only
    # where the kubelet's env of the `kubernetes` Service is set; without it, podman restarts it in a loop
    pods = runtime.apply(write_manifest(tmp_path / "p.yaml", "svcenv", restart="OnFailure", containers=[
        {"name": "main", "image": "busybox",
         "command": ["sh", "-c", 'echo "$KUBERNETES_PORT"; test -n "$KUBERNETES_SERVICE_HOST"']}]), ns)
    runtime.wait_running(pods[0], timeout=30)
    assert runtime.logs(pods[0]).splitlines() == ["tcp://10.96.0.1:443"]
    assert runtime._states(pods[0])["svcenv-main"]["RestartCount"] == 0


def test_downward_api_fields_podman_lacks_get_the_runtimes_values(runtime, ns, tmp_path):
    env = [{"name": n, "valueFrom": {"fieldRef": {"fieldPath": p}}} for n, p in
           (("NODE", "spec.nodeName"), ("HOST_IP", "status.hostIP"), ("SA", "spec.serviceAccountName"),
            ("NAME", "metadata.name"))]
    pods = runtime.apply(write_manifest(tmp_path / "p.yaml", "dapi", restart="Never", containers=[
        {"name": "main", "image": "busybox", "command": ["sh", "-c", "echo $NODE $HOST_IP $SA $NAME"],
         "env": env}]), ns)
    runtime.wait_running(pods[0], timeout=30)
    assert runtime.logs(pods[0]).split() == ["conformance-node", "127.0.0.1", "default", "dapi"]


def test_an_init_container_that_needs_the_network_is_a_limit_with_its_output(runtime, ns, tmp_path):
    manifest = write_manifest(tmp_path / "p.yaml", "initnet")
    text = yaml.safe_load(manifest.read_text())
    text["spec"]["initContainers"] = [{"name": "fetch", "image": "busybox",
                                       "command": ["wget", "-O", "/tmp/index.html", "http://example.com"]}]
    manifest.write_text(yaml.safe_dump(text))
    with pytest.raises(RuntimeLimit, match=r"init container 'fetch' of pod initnet exited 1 .*bad address") as err:
        runtime.apply(manifest, ns)
    assert "needs network access from the pod; podman pods here have loopback only" in err.value.reason
    assert err.value.pods == ("initnet",) and "bad address 'example.com'" in err.value.diagnostics
    assert "initnet" not in pods_in_storage(runtime)


def test_an_init_container_failing_otherwise_stays_a_fail_with_its_output(runtime, ns, tmp_path):
    manifest = write_manifest(tmp_path / "p.yaml", "initbad")
    text = yaml.safe_load(manifest.read_text())
    text["spec"]["initContainers"] = [{"name": "setup", "image": "busybox",
                                       "command": ["sh", "-c", "echo cannot configure; exit 5"]}]
    manifest.write_text(yaml.safe_dump(text))
    with pytest.raises(StepError, match=r"init container 'setup' of pod initbad exited with code 5") as err:
        runtime.apply(manifest, ns)
    assert not isinstance(err.value, RuntimeLimit) and "cannot configure" in err.value.diagnostics


def test_an_app_container_that_needs_the_network_is_a_limit(runtime, ns, tmp_path):
    pods = runtime.apply(write_manifest(tmp_path / "p.yaml", "appnet", restart="Never", containers=[
        {"name": "main", "image": "busybox", "command": ["wget", "-O-", "http://example.com"]}]), ns)
    with pytest.raises(RuntimeLimit, match=r"pod appnet: .*exited \(1\).*bad address.*loopback only") as err:
        runtime.wait_running(pods[0], timeout=30)
    assert "exit=1" in err.value.diagnostics


def test_downward_api_and_projected_volumes_are_read_in_the_pod(runtime, ns, tmp_path):
    # the downward-api-volume and projected-volume pages: files the kubelet writes, read-only in the pod
    secret = tmp_path / "secret.yaml"
    secret.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "user"},
                                      "stringData": {"username.txt": "admin"}}))
    assert runtime.apply(secret, ns) == []
    script = ("cat /etc/podinfo/labels; echo; cat /etc/podinfo/cpu_limit; echo; "
              "cat /projected-volume/username.txt; echo; cat /projected-volume/info/name; echo; "
              "ls /projected-volume; touch /etc/podinfo/x 2>/dev/null || echo read-only")
    manifest = write_manifest(tmp_path / "p.yaml", "podinfo", restart="Never", containers=[
        {"name": "main", "image": "busybox", "command": ["sh", "-c", script],
         "resources": {"limits": {"cpu": "250m"}},
         "volumeMounts": [{"name": "podinfo", "mountPath": "/etc/podinfo"},
                          {"name": "all-in-one", "mountPath": "/projected-volume"}]}])
    data = yaml.safe_load(manifest.read_text())
    data["metadata"]["labels"] = {"zone": "us-est-coast", "rack": "rack-22"}
    data["spec"]["volumes"] = [
        {"name": "podinfo", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "cpu_limit", "resourceFieldRef": {"containerName": "main", "resource": "limits.cpu",
                                                       "divisor": "1m"}}]}},
        {"name": "all-in-one", "projected": {"sources": [
            {"secret": {"name": "user"}},
            {"downwardAPI": {"items": [{"path": "info/name", "fieldRef": {"fieldPath": "metadata.name"}}]}}]}}]
    manifest.write_text(yaml.safe_dump(data))
    pods = runtime.apply(manifest, ns)
    runtime.wait_running(pods[0], timeout=30)
    assert runtime.logs(pods[0]).splitlines() == [
        'rack="rack-22"', 'zone="us-est-coast"', "250", "admin", "podinfo", "info", "username.txt", "read-only"]
    assert any("'podinfo', 'all-in-one': files written by the suite" in n for n in runtime.apply_notes())
    volumes = runtime.work_dir(ns) / "volumes"
    assert (volumes / "podinfo" / "podinfo" / "labels").is_file()
    runtime.teardown(ns)
    assert not volumes.exists()


def test_init_containers_that_wait_are_a_runtime_limit_and_leave_nothing(runtime, ns, tmp_path, monkeypatch):
    # init-containers.md: `until nslookup myservice; do sleep 2; done` waits for a Service the
    # page creates later; kube play waits for it, Kubernetes would not
    monkeypatch.setattr(runtime, "apply_timeout", 4.0)
    path = tmp_path / "waits.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "myapp-pod"}, "spec": {
        "initContainers": [{"name": "init-myservice", "image": "busybox",
                            "command": ["sh", "-c", "until false; do sleep 1; done"]}],
        "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}}))
    started = time.monotonic()
    with pytest.raises(RuntimeLimit, match=r"init containers did not finish within 4 s \(init container "
                                           r"'init-myservice'.*where Kubernetes creates the pod and lets it wait"):
        runtime.apply(path, ns)
    assert time.monotonic() - started < 30
    runtime.teardown(ns)
    assert "myapp-pod" not in pods_in_storage(runtime)
