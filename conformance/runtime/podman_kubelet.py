"""What a kubelet does for a pod that podman 4.3 kube play does not, done or stood in for by the suite.

Pure functions over a pod spec (podman_manifest.prepare calls them on the played copy); the
podman runtime runs what they collect:

- lifecycle hooks: kube play ignores `lifecycle`. The hooks are taken out of the played copy
  and the runtime runs them: postStart once the container started, preStop before the pod
  is deleted, each bounded. `exec` runs in the container, `sleep` is honoured; httpGet and
  tcpSocket hooks are requests the kubelet makes from the node to the pod's IP, which a pod
  with loopback only does not have: RuntimeLimit.
- Downward API values podman has no source for (it knows metadata.name, metadata.uid and
  metadata.labels/annotations['key'], and the resourceFieldRef cpu/memory requests and
  limits) become the values this runtime stands for: the node is NODE_NAME, the node's and
  the pod's IP 127.0.0.1 (pods here have loopback only), the namespace the manifest's or
  `default`, the service account the manifest's or `default`.
- the environment of the cluster's `kubernetes` Service (KUBERNETES_SERVICE_HOST,
  KUBERNETES_PORT, ...), which the kubelet gives every container: the address of kind's
  API Service (the first of its service range), where nothing listens here.
- output that says a pod could not reach the network (network_failure), for a runtime
  whose pods have loopback only.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..typing import Manifest, ManifestPart
from .base import RuntimeLimit

ELSEWHERE = "runs on --runtime kind"
#: the name of the node this runtime stands in for (spec.nodeName)
NODE_NAME = "conformance-node"
LOOPBACK = "127.0.0.1"
#: kind's `kubernetes` Service address (first address of its default service range 10.96.0.0/16)
API_SERVICE_IP = "10.96.0.1"
API_SERVICE_PORT = 443
POST_START_TIMEOUT = 30.0       # the kubelet gives postStart no bound; the suite does
PRE_STOP_TIMEOUT = 30.0         # the kubelet's bound: terminationGracePeriodSeconds (default 30)
PODMAN_FIELD_PATHS = re.compile(r"^metadata\.(name|uid|labels\['.+'\]|annotations\['.+'\])$")


@dataclass(frozen=True)
class Hook:
    event: str                      # "postStart" or "preStop"
    action: str                     # "exec" or "sleep"
    argv: tuple[str, ...] = ()
    seconds: float = 0.0

    def describe(self) -> str:
        if self.action == "sleep":
            return f"sleep {self.seconds:g} s"
        text = " ".join(self.argv)      # up to a `;`: a report splits its notes there
        return f"exec `{text.split(';')[0].rstrip()}{' ...' if ';' in text else ''}`"


def take_hooks(spec: ManifestPart, notes: list[str]) -> dict[str, dict[str, Hook]]:
    """Remove `lifecycle` from every container of the spec; container name -> event -> Hook."""
    hooks: dict[str, dict[str, Hook]] = {}
    for container in _containers(spec):
        lifecycle = container.pop("lifecycle", None) or {}
        name = str(container.get("name"))
        for event in ("postStart", "preStop"):
            handler = lifecycle.get(event) if isinstance(lifecycle, dict) else None
            if not isinstance(handler, dict) or not handler:
                continue
            if isinstance(handler.get("exec"), dict):
                hook = Hook(event, "exec", tuple(str(a) for a in handler["exec"].get("command") or []))
            elif isinstance(handler.get("sleep"), dict):
                hook = Hook(event, "sleep", seconds=float(handler["sleep"].get("seconds") or 0))
            else:
                action = next(iter(handler))
                raise RuntimeLimit(f"container {name!r}: its {event} hook is a {action} request, which the "
                                   "kubelet makes from the node to the pod's IP; podman pods here have loopback "
                                   f"only; {ELSEWHERE}")
            hooks.setdefault(name, {})[event] = hook
            when = ("once the container started" if event == "postStart" else "before the pod is deleted")
            notes.append(f"container {name!r}: lifecycle {event} hook ({hook.describe()}) run by the suite "
                         f"{when} (podman kube play ignores lifecycle hooks)")
    return hooks


def field_value(path: str, doc: Manifest) -> str | None:
    """The value this runtime stands for of a fieldRef podman cannot resolve; None: podman resolves it
    (or it is no field the Downward API offers, which podman then reports)."""
    meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
    if doc.get("kind") not in (None, "Pod"):            # a template: the pod's spec is below
        spec = ((spec.get("template") or {}).get("spec")) or {}
    values = {
        "metadata.namespace": meta.get("namespace") or "default",
        "spec.nodeName": spec.get("nodeName") or NODE_NAME,
        "spec.serviceAccountName": spec.get("serviceAccountName") or spec.get("serviceAccount") or "default",
        "status.hostIP": LOOPBACK, "status.hostIPs": LOOPBACK,
        "status.podIP": LOOPBACK, "status.podIPs": LOOPBACK,
    }
    return values.get(path)


def service_env() -> list[dict[str, str]]:
    """What the kubelet sets in every container for the `kubernetes` Service of the default namespace."""
    host, port = API_SERVICE_IP, API_SERVICE_PORT
    values = {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": str(port),
              "KUBERNETES_SERVICE_PORT_HTTPS": str(port), "KUBERNETES_PORT": f"tcp://{host}:{port}",
              f"KUBERNETES_PORT_{port}_TCP": f"tcp://{host}:{port}", f"KUBERNETES_PORT_{port}_TCP_PROTO": "tcp",
              f"KUBERNETES_PORT_{port}_TCP_PORT": str(port), f"KUBERNETES_PORT_{port}_TCP_ADDR": host}
    return [{"name": k, "value": v} for k, v in values.items()]


def stand_in_env(spec: ManifestPart, doc: Manifest, notes: list[str]) -> None:
    """Downward API env podman cannot resolve as the values this runtime stands for, and the
    `kubernetes` Service's env, in every container of the spec (each change noted)."""
    given: dict[str, str] = {}
    mentioned = "KUBERNETES_" in json.dumps([{k: c.get(k) for k in ("command", "args", "env")}
                                             for c in _containers(spec)])
    for container in _containers(spec):
        listed = container.get("env")
        env: list[Any] = listed if isinstance(listed, list) else []
        for item in env:
            ref = ((item or {}).get("valueFrom") or {}).get("fieldRef")
            if not isinstance(ref, dict) or PODMAN_FIELD_PATHS.match(str(ref.get("fieldPath", ""))):
                continue
            value = field_value(str(ref.get("fieldPath")), doc)
            if value is not None:
                item.pop("valueFrom")
                item["value"] = value
                given[str(ref.get("fieldPath"))] = value
        own = {str((item or {}).get("name")) for item in env}
        container["env"] = [e for e in service_env() if e["name"] not in own] + list(env)
    for path, value in sorted(given.items()):
        notes.append(f"fieldRef {path} is {value!r}, the value the podman runtime stands for (podman kube play "
                     "has no source for it" + (", pods here have loopback only" if value == LOOPBACK else "") + ")")
    if mentioned:
        notes.append(f"KUBERNETES_SERVICE_HOST and the other env of the `kubernetes` Service are set as the "
                     f"kubelet does, to kind's Service address {API_SERVICE_IP}:{API_SERVICE_PORT} (no API server "
                     "answers there on podman)")


#: what programs print when a pod cannot reach the network (name resolution, no route)
NETWORK_ERRORS = [re.compile(p, re.IGNORECASE) for p in (
    r"bad address '",                          # busybox wget, nslookup
    r"could not resolve (host|proxy)",          # curl
    r"temporary failure (in name resolution|resolving)",   # glibc, apt
    r"name or service not known",
    r"no address associated with hostname",
    r"unable to resolve host address",          # GNU wget
    r"lookup \S+( on \S+)?: no such host",      # Go
    r"network is unreachable",
    r"no route to host",
    r"getaddrinfo\b.*(fail|error)",
)]
CONNECTION_REFUSED = re.compile(r"connection refused", re.IGNORECASE)
A_HOST = re.compile(r"\b\d+(\.\d+){3}\b|\b[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}\b", re.IGNORECASE)
LOCAL_HOST = re.compile(r"localhost|\b127(\.\d+){3}\b|\[?::1\]?|\b0\.0\.0\.0\b", re.IGNORECASE)


def network_failure(output: str) -> str | None:
    """The first line of a container's output that says it could not reach the network, else None.
    A refused connection counts only when the line names no local address."""
    for line in output.splitlines():
        if any(p.search(line) for p in NETWORK_ERRORS):
            return line.strip()
        if CONNECTION_REFUSED.search(line) and A_HOST.search(line) and not LOCAL_HOST.search(line):
            return line.strip()
    return None


def _containers(spec: ManifestPart) -> list[ManifestPart]:
    return [c for key in ("initContainers", "containers") for c in spec.get(key) or [] if isinstance(c, dict)]
