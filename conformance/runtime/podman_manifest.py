"""The copy of a page's manifest that `podman kube play` plays, and the notes of what changed.

The page's file is never played as is. This module turns its documents into a copy that
(1) podman 4.3 can start with `--network none`, and (2) cannot reach the host:

- `ports` are dropped: a pod here has loopback only (containerPort is still reachable as
  localhost inside the pod; a hostPort would publish on the user's machine).
- a hostPath volume becomes a folder (or file) under `node_root`, the runtime's per-namespace
  stand-in for the node's disk; no host path is ever mounted.
- privileged containers, host namespaces, Unmasked /proc, raw block devices, host devices or
  sockets, and capabilities that act outside the pod's own namespaces raise RuntimeLimit.
- a Job plays as a Pod made from its template; Secrets play as ConfigMaps (podman 4.3 cannot
  use a Secret document), every ConfigMap under a name of this namespace's own (podman makes
  a named volume of it); kinds podman cannot play are left out with a note, or RuntimeLimit
  when nothing is left.
- what the kubelet does and kube play does not (podman_kubelet): lifecycle hooks are taken out
  for the runtime to run, Downward API fields podman has no source for get the values this
  runtime stands for, the `kubernetes` Service's env is set.
- downwardAPI and projected volumes (podman_volumes): their files are written as the kubelet
  writes them, under `volumes/<pod>/` next to `node_root`, and mounted read-only with a hostPath.
"""
from __future__ import annotations

import base64
import binascii
import copy
import json
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from ..typing import Documents, Manifest, ManifestPart
from .base import RuntimeLimit, StepError
from .podman_kubelet import Hook, stand_in_env, take_hooks
from .podman_volumes import fill_volumes, folder_name, pod_facts

ELSEWHERE = "runs on --runtime kind"
#: podman's defaults (adding them changes nothing) and capabilities that act only inside the
#: pod's own network and PID namespaces. Refused e.g.: SYS_ADMIN (mounts), SYS_TIME (the clock
#: has no namespace), SYS_MODULE, SYS_RAWIO, SYS_NICE/SYS_RESOURCE (the host's scheduler and
#: limits), MKNOD, IPC_LOCK, ALL.
ALLOWED_CAPABILITIES = frozenset({
    "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE", "SETFCAP", "SETGID",
    "SETPCAP", "SETUID", "SYS_CHROOT", "NET_RAW", "NET_ADMIN", "NET_BROADCAST", "SYS_PTRACE"})
PLAYED_VOLUMES = ("emptyDir", "configMap", "secret", "hostPath", "persistentVolumeClaim", "downwardAPI", "projected")
HOST_NAMESPACES = ("hostPID", "hostNetwork", "hostIPC")


@dataclass
class PlayCopy:
    documents: list[Manifest]                                # what podman plays, in order
    notes: list[str] = field(default_factory=list)           # what was changed or left out, for the report
    configs: dict[str, Manifest] = field(default_factory=dict)   # ConfigMaps/Secrets this file declared (played form)
    volumes: set[str] = field(default_factory=set)           # named volumes podman makes of ConfigMaps
    # pod name -> its container names (None for a container the manifest leaves unnamed)
    pods: dict[str, list[str | None]] = field(default_factory=dict)
    hooks: dict[str, dict[str, dict[str, Hook]]] = field(default_factory=dict)  # pod -> container -> event -> hook


def _check_key(container: ManifestPart, env: ManifestPart, kind: str, ref: ManifestPart,
               config: Manifest | None) -> None:
    """A key the ConfigMap or Secret does not have: the kubelet does not start the container."""
    keys = sorted((config or {}).get("data") or {})
    if config is None or ref.get("optional") or ref.get("key") in keys:
        return
    raise StepError(f"container {container.get('name')!r}: env {env.get('name')} takes key {ref.get('key')!r} "
                    f"of {kind} {ref.get('name')!r}, which has no such key (its keys: {', '.join(keys) or 'none'}); "
                    "Kubernetes does not start the container (CreateContainerConfigError)")


def config_name(prefix: str, kind: str, name: str) -> str:
    """The played name of a ConfigMap or Secret: `_` cannot occur in a Kubernetes name, so no clash."""
    return f"{prefix}_{'secret_' if kind == 'Secret' else ''}{name}"


def secret_as_configmap(doc: Manifest, prefix: str) -> Manifest:
    """A Secret's decoded data as a ConfigMap (what its volume and env show the pod is the same)."""
    name = (doc.get("metadata") or {}).get("name", "")
    data: dict[str, str] = {}
    for key, value in (doc.get("data") or {}).items():
        try:
            data[key] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise RuntimeLimit(f"Secret {name!r} key {key!r} holds binary data, which podman kube play cannot "
                               f"pass to a pod; {ELSEWHERE}", objects=(name,)) from None
    data.update({k: str(v) for k, v in (doc.get("stringData") or {}).items()})
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": config_name(prefix, "Secret", name)},
            "data": data}


def prepare(documents: Documents, node_root: Path, prefix: str,
            known: dict[str, Manifest] | None = None) -> PlayCopy:
    """The played copy of `documents`. `known`: ConfigMaps/Secrets kept from earlier steps (played form)."""
    play = PlayCopy([])
    workloads: list[Manifest] = []
    claims: list[Manifest] = []
    left_out: list[str] = []
    for doc in documents:
        if not isinstance(doc, dict):
            continue
        kind, meta = doc.get("kind"), doc.get("metadata") or {}
        name = meta.get("name", "") if isinstance(meta, dict) else ""
        for field_name in ("apiVersion", "kind"):
            if not doc.get(field_name):
                # what kubectl says before it sends anything: the file creates nothing
                raise StepError(f"{kind or 'a document'} {name!r} has no {field_name}: kubectl refuses the file "
                                f"({field_name} not set), so nothing of it is created")
        if kind == "ConfigMap":
            data = {"apiVersion": "v1", "kind": "ConfigMap", "data": {k: str(v) for k, v in (doc.get("data") or {}).items()},
                    "metadata": {"name": config_name(prefix, kind, name)}}
            play.configs[config_name(prefix, kind, name)] = data
        elif kind == "Secret":
            play.configs[config_name(prefix, kind, name)] = secret_as_configmap(doc, prefix)
        elif kind in ("Pod", "Deployment"):
            workloads.append(copy.deepcopy(doc))
        elif kind == "Job":
            template = (doc.get("spec") or {}).get("template") or {}
            labels = {**((template.get("metadata") or {}).get("labels") or {}), "job-name": name}
            workloads.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
                              "spec": copy.deepcopy(template.get("spec") or {})})
            play.notes.append(f"Job {name!r} plays as one Pod {name!r} made from its template "
                              "(completions, parallelism and backoffLimit are not played)")
        elif kind == "PersistentVolumeClaim":
            claims.append(copy.deepcopy(doc))
        else:
            left_out.append(f"a {kind or 'document without kind'}" + (f" ({name})" if name else ""))
    if left_out and not (workloads or claims or play.configs):
        raise RuntimeLimit(f"podman kube play cannot create {' or '.join(left_out)}; {ELSEWHERE}",
                           objects=tuple(declared_names(documents)))
    if left_out:
        play.notes.append(f"left out (podman kube play cannot create them; {ELSEWHERE}): " + ", ".join(left_out))
    configs = {**(known or {}), **play.configs}
    for doc in workloads:
        spec = _pod_spec(doc)
        name = (doc.get("metadata") or {}).get("name", "")
        try:
            _refuse_host_access(spec, doc.get("kind", "Pod"), name)
            _rewrite_spec(spec, play, node_root, prefix, configs)
            _empty_dirs(spec, node_root.parent / "emptydir", doc)
            _kubelet_volumes(doc, spec, node_root.parent / "volumes", prefix, configs, play.notes)
            stand_in_env(spec, doc, play.notes)
            hooks = take_hooks(spec, play.notes)
        except RuntimeLimit as err:
            # nothing of this file is played: later steps naming its objects skip, pointing here
            err.objects = tuple(declared_names(documents))
            err.pods = tuple((w.get("metadata") or {}).get("name", "") for w in workloads)
            raise
        containers = [c.get("name") for c in spec.get("containers") or [] if isinstance(c, dict)]
        if doc.get("kind") == "Deployment":
            names = [f"{name}-pod-{i}" for i in range(int((doc.get("spec") or {}).get("replicas", 1) or 1))]
        else:
            names = [name]             # (a Deployment's pods: podman 4's naming)
        for pod_name in names:
            play.pods[pod_name] = containers
            if hooks:
                play.hooks[pod_name] = hooks
    if workloads:
        play.documents = list(configs.values()) + claims + workloads
    elif claims:
        play.documents = claims
    return play


def declared_names(documents: Documents) -> list[str]:
    return [d["metadata"]["name"] for d in documents if isinstance(d, dict)
            and isinstance(d.get("metadata"), dict) and isinstance(d["metadata"].get("name"), str)]


def _pod_spec(doc: Manifest) -> ManifestPart:
    if doc.get("kind") == "Pod":
        return doc.setdefault("spec", {}) or {}
    return ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}


def _containers(spec: ManifestPart) -> list[ManifestPart]:
    return [c for key in ("initContainers", "containers", "ephemeralContainers")
            for c in spec.get(key) or [] if isinstance(c, dict)]


def _refuse_host_access(spec: ManifestPart, kind: str, name: str) -> None:
    what = f"{kind} {name!r}"

    def refuse(reason: str) -> None:
        raise RuntimeLimit(f"{what}: {reason}; the podman runtime runs pods on this machine and refuses "
                           f"that; {ELSEWHERE}")

    for key in HOST_NAMESPACES:
        if spec.get(key):
            refuse(f"{key}: true would share the host's {key[4:].upper()} namespace")
    for container in _containers(spec):
        context = container.get("securityContext") or {}
        cname = container.get("name")
        if context.get("privileged"):
            refuse(f"container {cname!r} is privileged (every host device and capability)")
        if context.get("procMount") == "Unmasked":
            refuse(f"container {cname!r} asks for an unmasked /proc")
        if container.get("volumeDevices"):
            refuse(f"container {cname!r} uses raw block devices (volumeDevices)")
        added = [str(c).upper().removeprefix("CAP_") for c in (context.get("capabilities") or {}).get("add") or []]
        beyond = [c for c in added if c not in ALLOWED_CAPABILITIES]
        if beyond:
            refuse(f"container {cname!r} adds capabilities {', '.join(beyond)}, which act beyond the pod's own "
                   "namespaces")


def _rewrite_spec(spec: ManifestPart, play: PlayCopy, node_root: Path, prefix: str,
                  configs: dict[str, Manifest]) -> None:
    def config(kind: str, ref_name: str, optional: bool | None) -> str:
        played = config_name(prefix, kind, ref_name)
        if played not in configs and not optional:
            raise RuntimeLimit(f"the pod uses {kind} {ref_name!r}, which no step of the page that runs on podman "
                               f"created; {ELSEWHERE}")
        return played

    for container in _containers(spec):
        ports = container.pop("ports", None)
        if ports:
            shown = ", ".join(str(p.get("containerPort")) + (f" (hostPort {p['hostPort']})" if p.get("hostPort") else "")
                              for p in ports if isinstance(p, dict))
            play.notes.append(f"container {container.get('name')!r}: ports {shown} not published (pods here have "
                              "loopback only; a containerPort is reachable as localhost inside the pod)")
        for env in container.get("env") or []:
            source = (env or {}).get("valueFrom") or {}
            for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                if isinstance(source.get(key), dict):
                    ref = source.pop(key)
                    played = config(kind, ref.get("name", ""), ref.get("optional"))
                    _check_key(container, env, kind, ref, configs.get(played))
                    source["configMapKeyRef"] = {**ref, "name": played}
        for env_from in container.get("envFrom") or []:
            for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                if isinstance((env_from or {}).get(key), dict):
                    ref = env_from.pop(key)
                    env_from["configMapRef"] = {**ref, "name": config(kind, ref.get("name", ""), ref.get("optional"))}
    for volume in spec.get("volumes") or []:
        vname = volume.get("name")
        types = [k for k in volume if k != "name"]
        if not types or types[0] not in PLAYED_VOLUMES:
            raise RuntimeLimit(f"volume {vname!r} is a {'/'.join(types) or 'typeless'} volume, which podman kube play "
                               f"cannot mount; {ELSEWHERE}")
        if "secret" in volume or "configMap" in volume:
            kind, ref = ("Secret", volume.pop("secret")) if "secret" in volume else ("ConfigMap", volume.pop("configMap"))
            ref = dict(ref or {})
            ref["name"] = config(kind, ref.pop("secretName", None) or ref.get("name", ""), ref.get("optional"))
            volume["configMap"] = ref
            play.volumes.add(ref["name"])
        elif "hostPath" in volume:
            path = (volume["hostPath"] or {}).get("path")
            volume["hostPath"] = _node_path(volume["hostPath"] or {}, vname, node_root)
            play.notes.append(f"hostPath {path} of volume {vname!r} is {volume['hostPath']['path']}, in the "
                              "runtime's work folder (the node's disk stand-in), not the host's")


def _kubelet_volumes(doc: Manifest, spec: ManifestPart, root: Path, prefix: str, configs: dict[str, Manifest],
                     notes: list[str]) -> None:
    """downwardAPI and projected volumes as folders the suite fills as the kubelet does (podman_volumes)."""
    def lookup(kind: str, ref_name: str, optional: bool | None) -> dict[str, str] | None:
        played = config_name(prefix, kind, ref_name)
        if played not in configs:
            if optional:
                return None
            raise RuntimeLimit(f"the pod uses {kind} {ref_name!r}, which no step of the page that runs on podman "
                               f"created; {ELSEWHERE}")
        return dict(configs[played].get("data") or {})

    if any(isinstance(v, dict) and {"downwardAPI", "projected"} & set(v) for v in spec.get("volumes") or []):
        facts = pod_facts(doc, spec)
        fill_volumes(spec, facts, root, lookup)
        notes.extend(dict.fromkeys(facts.notes))


def _empty_dirs(spec: ManifestPart, root: Path, doc: Manifest) -> None:
    """emptyDir volumes on disk become folders of the work folder, as kubelet makes them on the node:
    mode 0777, and with the pod's fsGroup as their group (setgid), which podman 4.3 does not apply."""
    group = (spec.get("securityContext") or {}).get("fsGroup")
    for volume in spec.get("volumes") or []:
        if "emptyDir" not in volume or (volume.get("emptyDir") or {}).get("medium") == "Memory":
            continue
        kind, name = str(doc.get("kind") or "Pod"), str((doc.get("metadata") or {}).get("name", ""))
        where = "spec" if kind == "Pod" else "spec.template.spec"
        index = (spec.get("volumes") or []).index(volume)
        folder = (root / folder_name(kind, name, "metadata.name", name)
                  / folder_name(kind, name, f"{where}.volumes[{index}].name", volume.get("name")))
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o2777 if isinstance(group, int) else 0o777)
        if isinstance(group, int):
            os.chown(folder, -1, group)
        del volume["emptyDir"]
        volume["hostPath"] = {"path": str(folder.resolve()), "type": "Directory"}


def _node_path(source: ManifestPart, vname: str, node_root: Path) -> ManifestPart:
    """Make hostPath's path, of its type, under node_root; the played hostPath points there."""
    kind = source.get("type") or ""
    if kind in ("Socket", "CharDevice", "BlockDevice"):
        raise RuntimeLimit(f"volume {vname!r} mounts a host {kind}; the podman runtime never mounts the host's "
                           f"devices or sockets; {ELSEWHERE}")
    relative = posixpath.normpath("/" + str(source.get("path") or "")).lstrip("/")
    root = node_root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    target = root
    for part in [p for p in relative.split("/") if p]:
        target = target / part
        if target.is_symlink():
            raise RuntimeLimit(f"hostPath {source.get('path')} of volume {vname!r} leads through a symbolic link a "
                               f"pod made in the work folder; refused so that no mount reaches the host; {ELSEWHERE}")
    as_file = kind in ("File", "FileOrCreate")
    if as_file:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(exist_ok=True)
    else:
        target.mkdir(parents=True, exist_ok=True)
    if not target.resolve().is_relative_to(root) or target.is_dir() == as_file:
        raise RuntimeLimit(f"hostPath {source.get('path')} of volume {vname!r} is not a "
                           f"{'file' if as_file else 'folder'} of the work folder; {ELSEWHERE}")
    return {"path": str(target), "type": "File" if as_file else "Directory"}


def kubectl_config_file(argv: list[str], folder: Path) -> Path | None:
    """`kubectl create configmap|secret generic NAME --from-literal=k=v...` as a manifest file in
    folder, for a runtime without a Kubernetes API to apply; None for any other form (--from-file,
    --from-env-file, other secret types: those stay steps that need a Kubernetes API)."""
    words = [w for w in argv[1:] if w not in ("-n", "--namespace")]
    if words[:2] == ["create", "secret"] and words[2:3] == ["generic"]:
        kind, rest = "Secret", words[3:]
    elif words[:2] in (["create", "configmap"], ["create", "cm"]):
        kind, rest = "ConfigMap", words[2:]
    else:
        return None
    names = [w for w in rest if not w.startswith("-")]
    literals = [w.split("=", 1)[1] for w in rest if w.startswith("--from-literal=")]
    if len(names) != 1 or len(literals) != len(rest) - 1 or not all("=" in v for v in literals):
        return None
    data = dict(v.split("=", 1) for v in literals)
    document = {"apiVersion": "v1", "kind": kind, "metadata": {"name": names[0]},
                ("stringData" if kind == "Secret" else "data"): data}
    path = folder / f"{kind.lower()}-{names[0]}.yaml"
    path.write_text(json.dumps(document))      # JSON is YAML
    return path
