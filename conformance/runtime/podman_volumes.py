"""downwardAPI and projected volumes, filled by the suite as the kubelet fills them.

podman 4.3 kube play cannot mount either. The kubelet writes their files on the node and binds
the folder into the pod read-only; the podman runtime does the same in its per-namespace work
folder (`volumes/<pod>/<volume>`) and the played copy mounts that folder with a hostPath:

- the kubelet's layout (its AtomicWriter): the files in a `..<UTC time>.<number>` folder, a
  `..data` link to it, and a link per top-level name (`labels -> ..data/labels`);
- fieldRef values as the kubelet writes them: name, namespace and uid as they are, labels and
  annotations one `key="value"` a line, sorted by key, values quoted as Go's %q, no newline at
  the end; annotations include the two the kubelet adds to every pod it runs
  (kubernetes.io/config.seen, kubernetes.io/config.source);
- resourceFieldRef values: the container's request or limit divided by the divisor, rounded up;
  a limit the container does not set is the node's allocatable, which stands for this machine
  (its CPUs, its memory, its work folder's disk), as on a kind node, which reserves nothing;
- `mode`, `defaultMode`, and the pod's fsGroup (group of every file, g+r, setgid folders);
- projected sources: secret and configMap (the runtime's kept ConfigMaps/Secrets), downwardAPI,
  serviceAccountToken (a stand-in token: there is no API server to issue one); a
  clusterTrustBundle is a RuntimeLimit.

Paths are checked as the API server checks them (relative, no `..`), so nothing a manifest says
is written outside the volume's folder. Stand-ins (the pod's uid, the token, the allocatable
values used) are noted for the report.
"""
from __future__ import annotations

import base64
import json
import math
import os
import posixpath
import random
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

from ..typing import Manifest, ManifestPart
from .base import RuntimeLimit, StepError
from .podman_kubelet import field_value

ELSEWHERE = "runs on --runtime kind"
VOLUME_FIELD_PATHS = ("metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
                      "metadata.uid")
RESOURCES = ("limits.cpu", "limits.memory", "limits.ephemeral-storage", "requests.cpu", "requests.memory",
             "requests.ephemeral-storage")
DEFAULT_MODE = 0o644
#: kind's API server: the issuer and default audience of its service account tokens
TOKEN_ISSUER = "https://kubernetes.default.svc.cluster.local"
SUFFIXES = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
            "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
            "P": Fraction(10**15), "E": Fraction(10**18), "Ki": Fraction(2**10), "Mi": Fraction(2**20),
            "Gi": Fraction(2**30), "Ti": Fraction(2**40), "Pi": Fraction(2**50), "Ei": Fraction(2**60)}
QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|([a-zA-Z]*))$")
#: lookup(kind, name, optional) -> the played ConfigMap/Secret's data, or None (optional and absent)
Lookup = Callable[[str, str, bool], "dict[str, str] | None"]
#: the node's allocatable cpu, memory and ephemeral-storage (read once, when a volume needs them)
Allocatable = Callable[[], "dict[str, Fraction]"]


@dataclass
class PodFacts:
    """What the kubelet knows of the pod when it fills the volumes."""
    kind: str                       # the document's kind, for the API server's error messages
    name: str
    namespace: str
    uid: str
    labels: dict[str, str]
    annotations: dict[str, str]
    containers: dict[str, ManifestPart]
    service_account: str = "default"
    fs_group: int | None = None
    field_prefix: str = "spec"      # where the pod spec is in the document
    notes: list[str] = field(default_factory=list)


RFC1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
RFC1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def folder_name(kind: str, name: str, where: str, value: object) -> str:
    """A pod's or volume's name as a folder of the work folder: only a name the API server accepts
    (so never `..`, `/` or an absolute path)."""
    text = str(value or "")
    label = where.endswith(".name") and where != "metadata.name"
    pattern = RFC1123_LABEL if label else RFC1123_SUBDOMAIN
    if not pattern.fullmatch(text) or len(text) > (63 if label else 253):
        what, dot = ("RFC 1123 label", "") if label else ("RFC 1123 subdomain", " or '.'")
        raise StepError(f"The {kind} {name!r} is invalid: {where}: Invalid value: {json.dumps(text)}: a lowercase "
                        f"{what} must consist of lower case alphanumeric characters, '-'{dot}, and must start "
                        "and end with an alphanumeric character")
    return text


def pod_facts(doc: Manifest, spec: ManifestPart) -> PodFacts:
    """What the kubelet knows of the pod of `doc` (a Pod, or a workload's template)."""
    kind, meta = str(doc.get("kind") or "Pod"), doc.get("metadata") or {}
    name = str(meta.get("name", ""))
    pod_meta = meta if kind == "Pod" else (((doc.get("spec") or {}).get("template") or {}).get("metadata") or {})
    pod_name = f"{name}-pod-0" if kind == "Deployment" else name     # podman 4's name of a Deployment's pod
    namespace = field_value("metadata.namespace", doc) or "default"
    seen = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".") + "Z"
    annotations = {"kubernetes.io/config.seen": seen, "kubernetes.io/config.source": "api",
                   **{str(k): str(v) for k, v in (pod_meta.get("annotations") or {}).items()}}
    group = (spec.get("securityContext") or {}).get("fsGroup")
    folder_name(kind, name, "metadata.name", name)
    return PodFacts(kind=kind, name=pod_name, namespace=namespace, uid=stand_in_uid(namespace, pod_name),
                    labels={str(k): str(v) for k, v in (pod_meta.get("labels") or {}).items()},
                    annotations=annotations,
                    containers={str(c.get("name")): c for key in ("initContainers", "containers")
                                for c in spec.get(key) or [] if isinstance(c, dict)},
                    service_account=str(field_value("spec.serviceAccountName", doc) or "default"),
                    fs_group=group if isinstance(group, int) else None,
                    field_prefix="spec" if kind == "Pod" else "spec.template.spec")


def go_quote(text: str) -> str:
    """`text` as Go's %q (strconv.Quote) prints it."""
    out = ['"']
    escapes = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v"}
    for char in text:
        code = ord(char)
        if char in escapes:
            out.append(escapes[char])
        elif char == " " or (char.isprintable() and not 0xD800 <= code <= 0xDFFF):
            out.append(char)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out) + '"'


def format_map(values: dict[str, str]) -> str:
    """The kubelet's form of labels and annotations in a file (fieldpath.FormatMap)."""
    return "\n".join(f"{key}={go_quote(str(values[key]))}" for key in sorted(values))


def quantity(value: object) -> Fraction:
    """A Kubernetes quantity ("250m", "64Mi", "1e3", 2) as an exact number."""
    match = QUANTITY.match(str(value).strip())
    if not match or match.group(3) not in (None, *SUFFIXES):
        raise ValueError(f"quantities must match the regular expression "
                         f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {value!r}")
    number = Fraction(match.group(1))
    if match.group(2) is not None:
        return number * Fraction(10) ** int(match.group(2))
    return number * SUFFIXES[match.group(3) or ""]


def node_allocatable(work: Path | None = None) -> dict[str, Fraction]:
    """The allocatable of the node this runtime stands for: this machine's CPUs and memory and the
    disk of its work folder (a kind node is a container on the machine and reserves nothing)."""
    memory = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    except OSError:
        pass
    where = work if work is not None and work.exists() else Path("/")
    return {"cpu": Fraction(os.cpu_count() or 1), "memory": Fraction(memory),
            "ephemeral-storage": Fraction(shutil.disk_usage(where).total)}


def resource_value(ref: ManifestPart, container: ManifestPart, allocatable: dict[str, Fraction]) -> tuple[str, bool]:
    """The file's text for a resourceFieldRef (the kubelet's ExtractContainerResourceValue after
    defaulting unset limits to the node's allocatable), and whether the allocatable was used."""
    resource = str(ref.get("resource", ""))
    kind, _, name = resource.partition(".")
    divisor = quantity(ref.get("divisor") or "0") or Fraction(1)
    resources = container.get("resources") or {}
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    from_node = False
    if kind == "limits":
        value = limits.get(name)
        if value is None:
            amount, from_node = allocatable.get(name, Fraction(0)), True
        else:
            amount = quantity(value)
    else:           # the API server defaults a request to the limit the container sets
        value = requests.get(name, limits.get(name))
        amount = quantity(value) if value is not None else Fraction(0)
    if name == "cpu":
        result = math.ceil(Fraction(math.ceil(amount * 1000)) / math.ceil(divisor * 1000))
    else:
        result = math.ceil(Fraction(math.ceil(amount)) / math.ceil(divisor))
    return str(result), from_node


def stand_in_uid(namespace: str, name: str) -> str:
    """The pod's uid in the files: the played pod's own is known only once it runs."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"conformance:{namespace}/{name}"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def stand_in_token(facts: PodFacts, audience: str, seconds: int) -> str:
    """A token shaped like the API server's (a JWT with its claims), signed by nobody."""
    now = int(time.time())
    header = {"alg": "RS256", "kid": "conformance-stand-in"}
    claims = {"aud": [audience], "exp": now + seconds, "iat": now, "nbf": now, "iss": TOKEN_ISSUER,
              "kubernetes.io": {"namespace": facts.namespace,
                                "pod": {"name": facts.name, "uid": facts.uid},
                                "serviceaccount": {"name": facts.service_account,
                                                   "uid": stand_in_uid(facts.namespace, facts.service_account)}},
              "sub": f"system:serviceaccount:{facts.namespace}:{facts.service_account}"}
    parts = [json.dumps(header, separators=(",", ":")), json.dumps(claims, separators=(",", ":"))]
    return ".".join([*(_b64(p.encode()) for p in parts), _b64(b"not signed: a stand-in of the podman runtime")])


class _Volume:
    """The files of one volume: path -> (bytes, mode), checked as the API server checks the spec."""

    def __init__(self, facts: PodFacts, where: str):
        self.facts, self.where = facts, where
        self.files: dict[str, tuple[bytes, int]] = {}

    def invalid(self, where: str, value: object, why: str) -> StepError:
        shown = json.dumps(value) if isinstance(value, str) else value
        return StepError(f"The {self.facts.kind} {self.facts.name!r} is invalid: {where}: Invalid value: {shown}: "
                         f"{why} (kubectl's answer: nothing is created)")

    def mode(self, value: object, where: str, default: int) -> int:
        if value is None:
            return default
        if not isinstance(value, int) or not 0 <= value <= 0o777:
            raise self.invalid(where, value, "must be a number between 0 and 0777 (octal), both inclusive")
        return value

    def path(self, value: object, where: str) -> str:
        text = str(value or "")
        if not text:
            raise StepError(f"The {self.facts.kind} {self.facts.name!r} is invalid: {where}: Required value")
        if text.startswith("/"):
            raise self.invalid(where, text, "must be a relative path")
        if ".." in text.split("/"):
            raise self.invalid(where, text, "must not contain '..'")
        if text.startswith(".."):
            raise self.invalid(where, text, "must not start with '..'")
        clean = posixpath.normpath(text)
        if clean in (".", "") or clean.startswith("/"):
            raise self.invalid(where, text, "must be a relative path")
        return clean

    def add(self, path: str, text: str, mode: int) -> None:
        self.files[path] = (text.encode(), mode)

    def downward(self, source: ManifestPart, where: str, default_mode: int, allocatable: Allocatable) -> None:
        for index, item in enumerate(source.get("items") or []):
            at = f"{where}.items[{index}]"
            path = self.path(item.get("path"), f"{at}.path")
            mode = self.mode(item.get("mode"), f"{at}.mode", default_mode)
            if isinstance(item.get("fieldRef"), dict):
                self.add(path, self.field(str(item["fieldRef"].get("fieldPath", "")), f"{at}.fieldRef.fieldPath"),
                         mode)
            elif isinstance(item.get("resourceFieldRef"), dict):
                self.add(path, self.resource(item["resourceFieldRef"], f"{at}.resourceFieldRef", allocatable), mode)
            else:
                raise StepError(f"The {self.facts.kind} {self.facts.name!r} is invalid: {at}: Required value: "
                                "one of fieldRef and resourceFieldRef is required")

    def field(self, path: str, where: str) -> str:
        facts = self.facts
        subscript = re.fullmatch(r"(metadata\.(?:labels|annotations))\['(.+)'\]", path)
        if subscript:
            values = facts.labels if subscript.group(1) == "metadata.labels" else facts.annotations
            return str(values.get(subscript.group(2), ""))
        values = {"metadata.name": facts.name, "metadata.namespace": facts.namespace, "metadata.uid": facts.uid,
                  "metadata.labels": format_map(facts.labels), "metadata.annotations": format_map(facts.annotations)}
        if path not in values:
            supported = ", ".join(json.dumps(p) for p in VOLUME_FIELD_PATHS)
            raise StepError(f"The {facts.kind} {facts.name!r} is invalid: {where}: Unsupported value: "
                            f"{json.dumps(path)}: supported values: {supported}")
        if path == "metadata.annotations":
            facts.notes.append("metadata.annotations in a downwardAPI file: the pod's own, with the two the kubelet "
                               "adds to every pod it runs (kubernetes.io/config.seen, kubernetes.io/config.source), "
                               "without kubectl apply's last-applied-configuration (the runtime is not told "
                               "whether the page applied or created the pod)")
        if path == "metadata.uid":
            facts.notes.append(f"metadata.uid in a downwardAPI file is {facts.uid}, a stand-in (podman gives the "
                               "pod its own id when it plays it)")
        return values[path]

    def resource(self, ref: ManifestPart, where: str, allocatable: Allocatable) -> str:
        facts = self.facts
        name = ref.get("containerName")
        if not name:
            raise StepError(f"The {facts.kind} {facts.name!r} is invalid: {where}.containerName: Required value")
        if str(ref.get("resource")) not in RESOURCES:
            raise StepError(f"The {facts.kind} {facts.name!r} is invalid: {where}.resource: Unsupported value: "
                            f"{json.dumps(str(ref.get('resource')))}: supported values: "
                            + ", ".join(json.dumps(r) for r in RESOURCES))
        if name not in facts.containers:
            raise StepError(f"{where}.containerName: the pod has no container {name!r}: the kubelet cannot fill "
                            "the volume and the pod does not start (FailedMount)")
        try:
            nodes = allocatable()
            value, from_node = resource_value(ref, facts.containers[name], nodes)
        except ValueError as err:
            raise StepError(f"The {facts.kind} {facts.name!r} is invalid: {where}: {err}") from None
        if from_node:
            kind = str(ref["resource"]).split(".", 1)[1]
            shown = {"cpu": lambda v: f"{v} CPUs", "memory": lambda v: f"{v} bytes of memory"}.get(
                kind, lambda v: f"{v} bytes of disk")(nodes[kind])
            facts.notes.append(f"container {name!r} sets no {ref['resource']}: the kubelet's default is the node's "
                               f"allocatable, which stands for this machine here ({shown})")
        return value

    def config(self, kind: str, source: ManifestPart, where: str, default_mode: int, lookup: Lookup) -> None:
        name = str(source.get("name") or source.get("secretName") or "")
        data = lookup(kind, name, bool(source.get("optional")))
        if data is None:
            return
        items = source.get("items")
        if not items:
            for key, value in sorted(data.items()):
                self.add(self.path(key, f"{where}.name"), str(value), default_mode)
            return
        for index, item in enumerate(items):
            at = f"{where}.items[{index}]"
            path = self.path(item.get("path"), f"{at}.path")
            key = str(item.get("key", ""))
            if key not in data:
                if source.get("optional"):
                    continue
                raise StepError(f"{at}.key: {kind} {name!r} has no key {key!r} (its keys: "
                                f"{', '.join(sorted(data)) or 'none'}): the kubelet cannot fill the volume and the "
                                f"pod does not start (FailedMount: {kind.lower()} references non-existent "
                                "config key)")
            self.add(path, str(data[key]), self.mode(item.get("mode"), f"{at}.mode", default_mode))


def fill_volumes(spec: ManifestPart, facts: PodFacts, root: Path, lookup: Lookup,
                 allocatable: Allocatable | None = None) -> None:
    """Write every downwardAPI and projected volume of the spec under root/<pod>/<volume> and play
    each as a read-only hostPath of that folder (facts.notes says what was stood in)."""
    root = root / facts.name
    mounted: list[str] = []
    cache: dict[str, dict[str, Fraction]] = {}

    def nodes() -> dict[str, Fraction]:
        if "v" not in cache:
            cache["v"] = allocatable() if allocatable else node_allocatable(root.parent)
        return cache["v"]

    for index, volume in enumerate(spec.get("volumes") or []):
        if not isinstance(volume, dict) or not ({"downwardAPI", "projected"} & set(volume)):
            continue
        kind = "downwardAPI" if "downwardAPI" in volume else "projected"
        source = volume.get(kind) or {}
        where = f"{facts.field_prefix}.volumes[{index}].{kind}"
        files = _Volume(facts, where)
        default_mode = files.mode(source.get("defaultMode"), f"{where}.defaultMode", DEFAULT_MODE)
        if kind == "downwardAPI":
            files.downward(source, where, default_mode, nodes)
        else:
            for number, projection in enumerate(source.get("sources") or []):
                _project(files, projection or {}, f"{where}.sources[{number}]", default_mode, lookup, nodes)
        folder = root / folder_name(facts.kind, facts.name, f"{facts.field_prefix}.volumes[{index}].name",
                                    volume.get("name"))
        write_atomic(folder, files.files, facts.fs_group, sticky=kind == "projected")
        del volume[kind]
        volume["hostPath"] = {"path": str(folder.resolve()), "type": "Directory"}
        mounted.append(str(volume.get("name")))
    if not mounted:
        return
    for container in [c for key in ("initContainers", "containers") for c in spec.get(key) or []]:
        for mount in (container or {}).get("volumeMounts") or []:
            if isinstance(mount, dict) and mount.get("name") in mounted:
                mount["readOnly"] = True
    facts.notes.append(f"volume{'s' if len(mounted) > 1 else ''} {', '.join(repr(m) for m in mounted)}: files "
                       "written by the suite as the kubelet writes them, in the runtime's work folder, mounted "
                       "read-only (podman kube play cannot mount downwardAPI or projected volumes)")


def _project(files: _Volume, projection: ManifestPart, where: str, default_mode: int, lookup: Lookup,
             nodes: Allocatable) -> None:
    facts = files.facts
    if isinstance(projection.get("secret"), dict):
        files.config("Secret", projection["secret"], f"{where}.secret", default_mode, lookup)
    elif isinstance(projection.get("configMap"), dict):
        files.config("ConfigMap", projection["configMap"], f"{where}.configMap", default_mode, lookup)
    elif isinstance(projection.get("downwardAPI"), dict):
        files.downward(projection["downwardAPI"], f"{where}.downwardAPI", default_mode, nodes)
    elif isinstance(projection.get("serviceAccountToken"), dict):
        token = projection["serviceAccountToken"]
        at = f"{where}.serviceAccountToken"
        path = files.path(token.get("path"), f"{at}.path")
        seconds = int(token.get("expirationSeconds") or 3600)
        if seconds < 600:
            raise files.invalid(f"{at}.expirationSeconds", seconds, "may not specify a duration less than 10 minutes")
        files.add(path, stand_in_token(facts, str(token.get("audience") or TOKEN_ISSUER), seconds), default_mode)
        facts.notes.append(f"serviceAccountToken {path}: a stand-in token with the API server's claims for "
                           f"system:serviceaccount:{facts.namespace}:{facts.service_account}, signed by nobody "
                           "(no API server issues tokens on podman, none accepts this one)")
    elif "clusterTrustBundle" in projection:
        raise RuntimeLimit(f"{where}: a clusterTrustBundle projection needs the Kubernetes API's "
                           f"ClusterTrustBundle objects, which podman has no source for; {ELSEWHERE}")


def write_atomic(folder: Path, files: dict[str, tuple[bytes, int]], fs_group: int | None = None,
                 sticky: bool = False) -> None:
    """The kubelet's layout of a volume's files: a `..<time>` folder holding them, `..data` linking to
    it, and a link per top-level name through `..data` (all links relative, inside the folder)."""
    if folder.is_symlink() or folder.exists():
        shutil.rmtree(folder) if not folder.is_symlink() else folder.unlink()
    folder.mkdir(parents=True)
    os.chmod(folder, 0o1777 if sticky else 0o777)
    stamp = datetime.now(timezone.utc).strftime("..%Y_%m_%d_%H_%M_%S.") + str(random.randrange(2**32))
    data = folder / stamp
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    root = data.resolve()
    for path, (content, mode) in sorted(files.items()):
        target = data / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.parent.resolve().is_relative_to(root):
            raise StepError(f"volume file {path!r} would be written outside its volume; refused")
        target.write_bytes(content)
        os.chmod(target, mode)
    (folder / "..data").symlink_to(stamp)
    for top in sorted({p.split("/", 1)[0] for p in files}):
        (folder / top).symlink_to(f"..data/{top}")
    if fs_group is not None:
        _own(folder, fs_group)


def _own(folder: Path, group: int) -> None:
    """What the kubelet does to a read-only volume of a pod with an fsGroup (SetVolumeOwnership)."""
    for path in [folder, *folder.rglob("*")]:
        if os.geteuid() == 0:
            os.lchown(path, -1, group)
        if path.is_symlink():
            continue
        mode = path.stat().st_mode & 0o7777
        os.chmod(path, mode | (0o2550 if path.is_dir() else 0o440))
