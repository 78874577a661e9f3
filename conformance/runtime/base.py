"""The one small interface every runtime implements.

Page steps are written once against it (conformance.run); podman, kind and kubeconfig
sit behind it. A runtime owns everything it creates and removes it in teardown().
"""
from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from pathlib import Path


class RuntimeUnavailable(Exception):
    """The runtime cannot be used on this machine; the message says what is missing."""


class StepError(Exception):
    """A runtime operation failed. `diagnostics` carries events/logs for the report."""

    def __init__(self, message: str, diagnostics: str = ""):
        super().__init__(message)
        self.diagnostics = diagnostics


class RuntimeLimit(StepError):
    """What a manifest asks is beyond this runtime (a kind it cannot create, host access it refuses).

    Not the page's fault: the step is a skip with `reason`, which names the runtime's limit and
    where the page runs instead. `objects`: names the manifest declares, none of which were
    created; `pods`: the pods among them (later steps that need them skip, pointing here);
    `diagnostics`: what was seen that shows the limit (e.g. a container's output).
    """

    def __init__(self, reason: str, objects: tuple[str, ...] = (), pods: tuple[str, ...] = (),
                 diagnostics: str = ""):
        super().__init__(reason, diagnostics)
        self.reason = reason
        self.objects = objects
        self.pods = pods


@dataclass(frozen=True)
class PodRef:
    name: str
    namespace: str = "default"
    containers: tuple[str, ...] = ()


@dataclass
class ExecResult:
    status: int
    stdout: str
    stderr: str = ""


@dataclass
class Typed:
    """What one line typed at an interactive session produced."""

    output: str            # what the terminal showed after the command, escapes stripped, \n line ends
    status: int | None     # the command's exit status where the shell told it, else None


@dataclass
class ImageInfo:
    reference: str         # as the manifest names it, e.g. "nginx"
    source: str            # "pulled from registry", "built offline: debootstrap bookworm + nginx 1.22.1", ...


class Session(abc.ABC):
    """An interactive TTY on a container (kubectl attach -it / exec -it)."""

    prompt: str = ""

    @abc.abstractmethod
    def type(self, command: str, timeout: float = 20.0) -> Typed:
        """Type one command line at the prompt and return what it printed."""

    @abc.abstractmethod
    def close(self) -> None:
        """Detach; never kills the container's process."""


class Capability(enum.Enum):
    """What a runtime can do beyond the abstract methods; the run asks, never probes."""

    SERVER_DRY_RUN = "server-dry-run"   # dry_run(): the API server validates and admits a manifest
    DIAGNOSTICS = "diagnostics"         # diagnostics(): a pod's status, events and logs for a failed step


class Runtime(abc.ABC):
    name: str = "abstract"
    #: optional abilities this runtime has (see Capability)
    capabilities: frozenset[Capability] = frozenset()
    #: True when the runtime serves the Kubernetes API (kubectl get/describe/logs... can run)
    kubernetes_api: bool = False
    #: True when a pod can reach other hosts (package installs, downloads from inside a container)
    pod_network: bool = True

    @abc.abstractmethod
    def start(self) -> None:
        """Prepare (config, images, cluster). Raise RuntimeUnavailable naming what is missing."""

    def server_version(self) -> tuple[int, int] | None:
        """(major, minor) of the Kubernetes server, or None where there is no API server."""
        return None

    @abc.abstractmethod
    def apply(self, manifest: Path, namespace: str) -> list[PodRef]:
        """Create what the manifest describes; return the pods it created."""

    @abc.abstractmethod
    def wait_running(self, pod: PodRef, timeout: float = 60.0) -> None:
        """Bounded wait until every container of the pod runs; StepError with diagnostics if not."""

    @abc.abstractmethod
    def attach(self, pod: PodRef, container: str | None) -> Session:
        """Interactive session on the container's main process TTY."""

    @abc.abstractmethod
    def exec_session(self, pod: PodRef, container: str | None, argv: list[str]) -> Session:
        """Interactive session running argv (e.g. ["sh"]) in the container."""

    @abc.abstractmethod
    def exec(self, pod: PodRef, container: str | None, argv: list[str], timeout: float = 30.0) -> ExecResult:
        """Run argv in the container, non-interactive."""

    @abc.abstractmethod
    def logs(self, pod: PodRef, container: str | None = None) -> str: ...

    @abc.abstractmethod
    def events(self, pod: PodRef) -> str: ...

    @abc.abstractmethod
    def delete(self, pod: PodRef) -> None:
        """Remove one pod now (kubectl delete pod)."""

    @abc.abstractmethod
    def teardown(self, namespace: str) -> None:
        """Remove everything created in this namespace. Must be safe to call twice."""

    def apply_notes(self) -> list[str]:
        """What the last apply() changed in the page's manifest to run here (e.g. ports not published)."""
        return []

    def images(self) -> list[ImageInfo]:
        """The images this runtime used, for the report."""
        return []

    def close(self) -> None:
        """End of the whole run (e.g. delete a kind cluster that was not kept)."""

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def dry_run(self, manifest_text: str, namespace: str) -> ExecResult:
        """Capability.SERVER_DRY_RUN: `kubectl apply --dry-run=server` of the manifest."""
        raise StepError(f"{self.name} has no API server to dry-run a manifest against")

    def diagnostics(self, pod: PodRef) -> str:
        """Capability.DIAGNOSTICS: the pod's status, events and logs. Never raises."""
        return ""

    def kubectl(self, argv: list[str], namespace: str, stdin: str | None = None,
                timeout: float = 60.0) -> ExecResult:
        """Run a real kubectl argv (argv[0] == 'kubectl') against this runtime's API server."""
        raise StepError(f"{self.name} has no Kubernetes API")
