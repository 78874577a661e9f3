"""How page commands map onto runtime operations, and the version gate.

The runtime here records the operations it is asked for: these tests are about the
mapping (which kubectl argv becomes which operation, what skips on a runtime without a
Kubernetes API, what the gate does), not about a runtime; the real runtimes have their
own contract suite.
"""
from __future__ import annotations

from pathlib import Path

from conformance.lex_markdown import lex_markdown
from conformance.pages import load_page
from conformance.run import PageRun
from conformance.runtime import Capability, ExecResult, PodRef, Runtime, Session, Typed
from conformance.steps import steps_for
from conformance.verdict import Verdict

from .conftest import ROOT

PAGE = """---
title: t
min-kubernetes-server-version: v1.10
---

{{% code_sample file="pods/share-process-namespace.yaml" %}}

```shell
kubectl apply -f https://k8s.io/examples/pods/share-process-namespace.yaml
```

```shell
kubectl get pods
```

```shell
kubectl exec nginx -c shell -- ls /
```

```shell
kubectl attach -it nginx -c shell
```

```shell
kubectl delete pod nginx
```

```shell
kubectl get pod ghost -o yaml | grep phase
```
"""


class RecordingSession(Session):
    def __init__(self, log):
        self.log = log

    def type(self, command, timeout=20.0):
        self.log.append(("type", command))
        return Typed("", 0)

    def close(self):
        self.log.append(("close",))


class RecordingRuntime(Runtime):
    name = "recording"

    def __init__(self, api: bool, server=(1, 30)):
        self.kubernetes_api = api
        self.server = server
        self.log: list[tuple] = []

    def start(self):
        self.log.append(("start",))

    def server_version(self):
        return self.server if self.kubernetes_api else None

    def apply(self, manifest, namespace):
        self.log.append(("apply", Path(manifest).name, namespace))
        return [PodRef("nginx", namespace, ("nginx", "shell"))]

    def wait_running(self, pod, timeout=60.0):
        self.log.append(("wait_running", pod.name))

    def attach(self, pod, container):
        self.log.append(("attach", pod.name, container))
        return RecordingSession(self.log)

    def exec_session(self, pod, container, argv):
        self.log.append(("exec_session", pod.name, container, tuple(argv)))
        return RecordingSession(self.log)

    def exec(self, pod, container, argv, timeout=30.0):
        self.log.append(("exec", pod.name, container, tuple(argv)))
        return ExecResult(0, "bin\netc\n")

    def logs(self, pod, container=None):
        return ""

    def events(self, pod):
        return ""

    def delete(self, pod):
        self.log.append(("delete", pod.name))

    def teardown(self, namespace):
        self.log.append(("teardown", namespace))

    def kubectl(self, argv, namespace, stdin=None, timeout=60.0):
        self.log.append(("kubectl", tuple(argv), namespace))
        return ExecResult(0, "NAME    READY   STATUS\nnginx   2/2     Running\n")


def run_page(tmp_path: Path, runtime: RecordingRuntime, text: str = PAGE):
    path = tmp_path / "docs" / "en" / "page.md"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    (tmp_path / "examples" / "pods").mkdir(parents=True)
    (tmp_path / "examples" / "pods" / "share-process-namespace.yaml").write_text(
        (ROOT / "examples/pods/share-process-namespace.yaml").read_text())
    page = load_page(path)
    run = PageRun(page, lambda: runtime, runtime_name="recording")
    steps = steps_for(lex_markdown(page.text, page.front_matter.end_offset))
    outcomes = [run.run(step) for step in steps]
    run.teardown()
    return run, outcomes


def test_mapping_without_a_kubernetes_api(tmp_path):
    runtime = RecordingRuntime(api=False)
    run, outcomes = run_page(tmp_path, runtime)
    verdicts = [o.verdict for o in outcomes]
    assert verdicts == [Verdict.PASS, Verdict.PASS, Verdict.SKIP, Verdict.PASS, Verdict.PASS, Verdict.PASS,
                        Verdict.SKIP]
    assert "needs a Kubernetes API (kubectl get)" in outcomes[2].reason
    assert "no host shell" in outcomes[6].reason
    ops = [entry[0] for entry in runtime.log]
    # the session stays open across other kubectl commands (a second terminal) and closes at teardown
    assert ops == ["apply", "wait_running", "exec", "attach", "delete", "close", "teardown"]
    assert runtime.log[0][1] == "share-process-namespace.yaml"  # the k8s.io/examples URL, resolved locally
    assert runtime.log[2][1:] == ("nginx", "shell", ("ls", "/"))
    assert runtime.log[-1] == ("teardown", run.namespace)


def test_mapping_with_a_kubernetes_api_runs_real_kubectl_argv(tmp_path):
    runtime = RecordingRuntime(api=True)
    run, outcomes = run_page(tmp_path, runtime)
    kubectl = [entry for entry in runtime.log if entry[0] == "kubectl"]
    assert kubectl[0][1] == ("kubectl", "get", "pods") and kubectl[0][2] == run.namespace
    assert outcomes[2].verdict == Verdict.PASS
    # delete goes to the API as it is written
    assert ("kubectl", ("kubectl", "delete", "pod", "nginx"), run.namespace) in runtime.log


def test_version_gate_skips_every_runtime_step_but_still_validates(tmp_path):
    runtime = RecordingRuntime(api=True, server=(1, 9))
    _, outcomes = run_page(tmp_path, runtime)
    assert outcomes[0].verdict == Verdict.PASS  # the manifest is validated offline all the same
    gated = outcomes[1:6]
    assert all(o.verdict == Verdict.SKIP for o in gated)
    assert all("needs Kubernetes v1.10 or newer" in o.reason and "server is v1.9" in o.reason for o in gated)
    assert not [e for e in runtime.log if e[0] in ("apply", "kubectl", "exec", "attach")]


def test_a_failed_operation_blocks_what_follows(tmp_path):
    class FailingApply(RecordingRuntime):
        def apply(self, manifest, namespace):
            from conformance.runtime import StepError
            raise StepError("kube play failed", diagnostics="events: image pull failed")

    runtime = FailingApply(api=False)
    _, outcomes = run_page(tmp_path, runtime)
    assert outcomes[1].verdict == Verdict.FAIL and outcomes[1].diff == "events: image pull failed"
    assert [o.verdict for o in outcomes[2:]] == [Verdict.BLOCKED] * 5
    assert all("an earlier step failed (line 8: kube play failed)" in o.reason for o in outcomes[2:])



HEREDOC_PAGE = """---
title: t
---

```shell
kubectl apply -f - <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: private-image-test-1
spec:
  containers:
    - name: uses-private-image
      image: $PRIVATE_IMAGE_NAME
EOF
```

```shell
kubectl logs private-image-test-1
```
"""


def test_placeholder_manifest_skips_and_so_do_commands_on_what_it_would_create(tmp_path):
    runtime = RecordingRuntime(api=True)
    _, outcomes = run_page(tmp_path, runtime, HEREDOC_PAGE)
    # validated as a fragment, not applied: the image is left to the reader
    assert outcomes[0].verdict == Verdict.SKIP and "$PRIVATE_IMAGE_NAME" in outcomes[0].reason
    assert outcomes[1].verdict == Verdict.SKIP
    assert "private-image-test-1 was not created" in outcomes[1].reason
    assert not [e for e in runtime.log if e[0] == "kubectl"]


SESSION_PAGE = """---
title: t
---

{{% code_sample file="pods/share-process-namespace.yaml" %}}

```shell
kubectl apply -f https://k8s.io/examples/pods/share-process-namespace.yaml
kubectl exec -it nginx -c shell -- sh
```

```shell
# Run this inside the container
apt-get install -y curl
curl http://localhost/
curl https://example.com/
```

```shell
kubectl exec nginx env
kubectl exec -it my-pod -- sh
```
"""


class OfflineRuntime(RecordingRuntime):
    pod_network = False


class NotFoundSession(RecordingSession):
    def type(self, command, timeout=20.0):
        self.log.append(("type", command))
        return Typed(f"sh: {command.split()[0]}: not found", 127)


def test_network_installs_skip_and_so_does_command_not_found_after_them(tmp_path):
    runtime = OfflineRuntime(api=False)
    runtime.exec_session = lambda pod, container, argv: NotFoundSession(runtime.log)
    _, outcomes = run_page(tmp_path, runtime, SESSION_PAGE)
    typed = outcomes[2]
    assert typed.verdict == Verdict.SKIP, typed
    assert "`apt-get install -y curl` needs network access from the pod" in typed.reason
    assert "`curl http://localhost/`: command not found (the installs at line 14 could not run here)" in typed.reason
    assert "`curl https://example.com/` needs network access" in typed.reason
    # only the local curl reached the container
    assert [e for e in runtime.log if e[0] == "type"] == [("type", "curl http://localhost/")]
    last = outcomes[3]
    assert last.verdict == Verdict.FAIL
    assert "exec [POD] [COMMAND] is not supported anymore" in last.reason


def test_a_failed_block_on_a_cluster_carries_the_pods_diagnostics(tmp_path):
    class Cluster(RecordingRuntime):
        def kubectl(self, argv, namespace, stdin=None, timeout=60.0):
            return ExecResult(1, "", "error: pods nginx is forbidden")

        capabilities = frozenset({Capability.DIAGNOSTICS})

        def diagnostics(self, pod):
            return f"pod {pod.name}: Running; events: Started container shell"

    runtime = Cluster(api=True)
    _, outcomes = run_page(tmp_path, runtime)
    assert outcomes[2].verdict == Verdict.FAIL
    assert "pod nginx: Running; events: Started container shell" in outcomes[2].diff


def test_an_image_that_cannot_be_had_skips_the_page_steps_with_the_reason(tmp_path):
    from conformance.runtime.images import ImageUnavailable

    class NoImage(RecordingRuntime):
        def apply(self, manifest, namespace):
            raise ImageUnavailable("image 'redis' is not available here: registry docker.io does not answer, "
                                   "and offline-images.yaml has no offline recipe", diagnostics="dial tcp: no such host")

    _, outcomes = run_page(tmp_path, NoImage(api=False))
    assert outcomes[1].verdict == Verdict.SKIP and "no offline recipe" in outcomes[1].reason
    assert outcomes[1].diff == "dial tcp: no such host"
    # not blocked (nothing failed) and not failed: skipped, pointing at the apply
    assert all(o.verdict == Verdict.SKIP for o in outcomes[2:])
    assert "could not start here (line 8: image 'redis' is not available here" in outcomes[3].reason


EXEC_PAGE = """---
title: t
---

```shell
kubectl apply -f https://k8s.io/examples/pods/share-process-namespace.yaml
```

```shell
kubectl exec -it nginx -c shell -- /bin/bash
```

In your shell, list the running processes:

```shell
ps aux
```

```shell
printenv
```

The output is similar to:

```
HOSTNAME=nginx
GREETING=hello
```

```shell
exit
```

```shell
cat notes.txt
```
"""


def test_commands_typed_in_a_session_that_could_not_open_point_back_to_it(tmp_path):
    from conformance.runtime import StepError

    class NoShell(RecordingRuntime):
        def exec_session(self, pod, container, argv):
            raise StepError("no prompt within 15 s")

    _, outcomes = run_page(tmp_path, NoShell(api=False), EXEC_PAGE)
    assert [o.verdict for o in outcomes] == [Verdict.PASS, Verdict.FAIL] + [Verdict.BLOCKED] * 5
    # a session that is skipped (not failed): the typed commands say where they were typed
    class Gated(RecordingRuntime):
        def exec_session(self, pod, container, argv):
            raise AssertionError("not reached")

    page = EXEC_PAGE.replace("kubectl exec -it nginx", "kubectl exec -it ghost")
    _, outcomes = run_page(tmp_path / "2", Gated(api=False), page)
    assert outcomes[1].verdict == Verdict.SKIP and "'ghost' is not created" in outcomes[1].reason
    for typed in outcomes[2:4]:
        assert typed.verdict == Verdict.SKIP
        assert "typed in the container session opened at line 10 (`kubectl exec -it ghost" in typed.reason
    # printenv's NAME=value lines are its output (not "variables listed for the reader")
    assert "output of line 20, which did not run" in outcomes[4].reason
    assert "typed in the container session" in outcomes[5].reason      # exit
    # after exit the page is back on the reader's machine
    assert "runs on the reader's machine" in outcomes[6].reason


def test_attach_to_a_container_that_runs_no_shell_says_so_from_the_manifest(tmp_path):
    from conformance.runtime import StepError

    class NoPrompt(RecordingRuntime):
        def attach(self, pod, container):
            raise StepError("no prompt within 15 s")

    page = ("---\ntitle: t\n---\n\n```shell\nkubectl apply -f https://k8s.io/examples/pods/sleeper.yaml\n```\n\n"
            "```shell\nkubectl attach -it nginx -c shell\n```\n\n```\n/ # ps\n```\n")
    (tmp_path / "examples" / "pods").mkdir(parents=True)
    (tmp_path / "examples" / "pods" / "sleeper.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: nginx\nspec:\n  containers:\n  - name: nginx\n"
        "    image: nginx\n  - name: shell\n    image: busybox\n    command: [sleep]\n    args: ['3600']\n")
    runtime = NoPrompt(api=False)
    path = tmp_path / "docs" / "en" / "page.md"
    path.parent.mkdir(parents=True)
    path.write_text(page)
    loaded = load_page(path)
    run = PageRun(loaded, lambda: runtime, runtime_name="recording")
    outcomes = [run.run(step) for step in steps_for(lex_markdown(loaded.text, loaded.front_matter.end_offset))]
    run.teardown()
    assert outcomes[1].verdict == Verdict.FAIL
    assert ("container 'shell' runs `sleep 3600`, not an interactive shell: attach shows no prompt, "
            "so the page's transcript cannot happen; no prompt within 15 s") in outcomes[1].reason


def test_a_placeholder_typed_at_a_prompt_is_left_to_the_reader(tmp_path):
    page = ("---\ntitle: t\n---\n\n```shell\nkubectl apply -f https://k8s.io/examples/pods/share-process-namespace.yaml\n"
            "kubectl exec -it nginx -c shell -- sh\n```\n\n```shell\nroot@redis:/data/redis# kill <pid>\n"
            "root@redis:/data/redis# cat < in > out\n```\n")
    runtime = RecordingRuntime(api=False)
    _, outcomes = run_page(tmp_path, runtime, page)
    assert "placeholder left to the reader: <pid>" in outcomes[1].reason
    typed = [e[1] for e in runtime.log if e[0] == "type"]
    assert typed == ["cat < in > out"]          # redirections are typed; the placeholder never is


def test_what_a_runtime_can_do_is_declared_not_probed(tmp_path):
    """A runtime that has a diagnostics() method but does not declare the capability is not asked."""
    class Undeclared(RecordingRuntime):
        def kubectl(self, argv, namespace, stdin=None, timeout=60.0):
            return ExecResult(1, "", "error: forbidden")

        def diagnostics(self, pod):
            raise AssertionError("asked for diagnostics it did not declare")

    _, outcomes = run_page(tmp_path, Undeclared(api=True))
    assert outcomes[2].verdict == Verdict.FAIL and outcomes[2].diff == ""

    class DryRun(RecordingRuntime):
        capabilities = frozenset({Capability.SERVER_DRY_RUN})

        def dry_run(self, manifest_text, namespace):
            self.log.append(("dry_run", namespace))
            return ExecResult(1, "", 'admission webhook "x" denied the request')

    runtime = DryRun(api=True)
    _, outcomes = run_page(tmp_path / "2", runtime)
    assert outcomes[0].verdict == Verdict.FAIL
    assert "server-side dry run on recording: admission webhook" in outcomes[0].reason


CLAIM_PAGE = """---
title: t
---

```shell
kubectl apply -f https://k8s.io/examples/pods/share-process-namespace.yaml
```

```shell
kubectl exec nginx -c shell -- id
```

{output_intro}

```
uid=1000 gid=3000 groups=2000
```

{claim}
"""


def test_a_value_the_prose_states_fails_when_it_changes_in_two_languages(tmp_path):
    class Root(RecordingRuntime):
        def exec(self, pod, container, argv, timeout=30.0):
            return ExecResult(0, self.printed)

    for lang, intro, claim in [
            ("en", "The output is similar to this:",
             "The output shows that the processes run as user 1000, the value of runAsUser."),
            ("ja", "出力は次のようになります:", "出力から、プロセスがユーザー1000として実行されていることがわかります。")]:
        page = CLAIM_PAGE.format(output_intro=intro, claim=claim)
        runtime = Root(api=False)
        runtime.printed = "uid=1000 gid=3000 groups=2000\n"
        _, outcomes = run_page(tmp_path / lang / "same", runtime, page)
        assert outcomes[2].verdict == Verdict.PASS, outcomes[2]
        runtime.printed = "uid=1001 gid=3000 groups=2000\n"      # numbers alone differ: a drift, but for the prose
        _, outcomes = run_page(tmp_path / lang / "changed", runtime, page)
        assert outcomes[2].verdict == Verdict.FAIL
        assert f"the page says 1000 ({claim!r}), but 1000 is not in what was seen" in outcomes[2].reason


SAVED_PAGE = """---
title: t
---

```shell
wget -O my-pod.yaml https://k8s.io/examples/pods/share-process-namespace.yaml
kubectl apply -f my-pod.yaml
```

Save this as myapp.yaml:

```yaml
apiVersion: v1
kind: Pod
metadata:
  name: myapp
spec:
  containers:
  - name: main
    image: busybox
```

```shell
kubectl apply -f myapp.yaml
```

```shell
sed 's/$ITEM/apple/' job-tmpl.yaml > ./jobs/job-apple.yaml
kubectl create -f ./jobs
```

```shell
kubectl apply -f nowhere.yaml
```

The output is similar to:

```
pod/nowhere created
```

```shell
alias kc=kubectl
```
"""


def test_files_the_reader_downloads_saves_or_makes(tmp_path):
    runtime = RecordingRuntime(api=False)
    _, outcomes = run_page(tmp_path, runtime, SAVED_PAGE)
    applied = [e[1] for e in runtime.log if e[0] == "apply"]
    # wget of an examples URL is the examples file (no network), under the name given
    assert outcomes[0].verdict == Verdict.PASS and "the examples tree's file, as my-pod.yaml" in outcomes[0].reason
    assert applied[:2] == ["my-pod.yaml", "myapp.yaml"]
    # the manifest shown just before stands for the file the reader saved
    assert "myapp.yaml is the manifest the page shows at line 12" in outcomes[2].reason
    # made by a host step that did not run: a skip pointing there, not a fail
    assert outcomes[3].verdict == Verdict.SKIP
    assert "./jobs: not in the examples tree; it would be made by a step that did not run here (line 28)" \
        in outcomes[3].reason
    # a file nobody made is a fail, and its output block says so
    assert outcomes[4].verdict == Verdict.FAIL
    assert outcomes[5].verdict == Verdict.BLOCKED and "output of line 33, whose command failed" in outcomes[5].reason
    # after the fail, a host command still says why it cannot run (not just "blocked")
    assert outcomes[6].verdict == Verdict.SKIP and "`alias` runs on the reader's machine" in outcomes[6].reason


def test_what_is_typed_after_kubectl_debug_belongs_to_its_session(tmp_path):
    page = ("---\ntitle: t\n---\n\n```shell\nkubectl apply -f https://k8s.io/examples/pods/share-process-namespace.yaml\n"
            "kubectl exec -it nginx -c shell -- sh\n```\n\n```shell\nexit\n```\n\n"
            "```shell\nkubectl debug -it nginx --image=busybox --target=nginx\n```\n\n```\n/ # ls\n```\n")
    _, outcomes = run_page(tmp_path, RecordingRuntime(api=False), page)
    assert outcomes[2].verdict == Verdict.SKIP and "needs a Kubernetes API (kubectl debug)" in outcomes[2].reason
    assert "typed in the container session opened at line 15 (`kubectl debug -it nginx" in outcomes[3].reason


def test_kubectl_run_creates_the_pod_on_a_runtime_without_an_api(tmp_path):
    page = ("---\ntitle: t\n---\n\n```shell\nkubectl run myapp --image=busybox:1.28 --restart=Never -- sleep 1d\n```\n\n"
            "```shell\nkubectl exec myapp -- ls /\n```\n\n"
            "```shell\nkubectl run -it --rm shell --image=busybox -- sh\n```\n\n```\n/ # ls\n```\n")

    class Runs(RecordingRuntime):
        def apply(self, manifest, namespace):
            import yaml
            doc = yaml.safe_load(Path(manifest).read_text())
            self.log.append(("apply", Path(manifest).name, doc["spec"]["containers"][0].get("args")))
            name = doc["metadata"]["name"]
            return [PodRef(name, namespace, (name,))]

    runtime = Runs(api=False)
    _, outcomes = run_page(tmp_path, runtime, page)
    assert [o.verdict for o in outcomes] == [Verdict.PASS] * 4, outcomes
    assert ("apply", "myapp.yaml", ["sleep", "1d"]) in runtime.log
    assert ("exec", "myapp", None, ("ls", "/")) in runtime.log
    assert ("attach", "shell", None) in runtime.log and ("type", "ls") in runtime.log


def test_a_runtime_whose_start_fails_is_closed(monkeypatch):
    """A half-made cluster (kind create cut short) is deleted, not left for the next run."""
    import pytest as _pytest

    from conformance import plugin

    closed = []

    class HalfMade(RecordingRuntime):
        def start(self):
            raise KeyboardInterrupt

        def close(self):
            closed.append(True)

    monkeypatch.setattr(plugin, "make_runtime", lambda name, **options: HalfMade(api=True))
    state = plugin.ConformanceState.__new__(plugin.ConformanceState)
    state.runtime, state.runtime_name = None, "kind"
    monkeypatch.setattr(state, "runtime_options", dict, raising=False)
    with _pytest.raises(KeyboardInterrupt):
        state.start_runtime()
    assert closed == [True] and state.runtime is None
