"""The podman runtime, the embedded default: `podman kube play` of the page's own manifest.

Real pods on this machine: an infra container running /pause, the page's containers, one
PID namespace when the manifest shares it. Everything lives in the project's own podman
storage under the cache dir (`--root/--runroot`, a project-owned containers.conf and
storage.conf), so a user's own podman containers, images and networks are left alone.

Host settings are detected once and cached in <cache>/host.json (keyed by podman version,
kernel, limits, OCI runtimes found): the OCI runtime (runc where crun cannot run, e.g.
"cgroups in hybrid mode not supported"), the default ulimits a container may get (podman's
default is above what this host allows, which makes runc fail with setrlimit EPERM), and
the storage driver (overlay where it works, else vfs).

Networking: pods get `--network none`, a private network namespace with loopback only.
The containers of a pod still share it (localhost between them works, as in Kubernetes).
podman's default kube network works on this host (netavark, iptables), but it installs
firewall rules and a bridge on the host, and a project-private network config would pick
the same bridge name and subnet as the user's own podman; no page step here needs
more. Pass network="bridge" (or a network name) to opt in.
"""
from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from pathlib import Path
from types import FrameType
from typing import Any

import pexpect
import yaml
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_exponential, wait_fixed

from ..typing import Completed, Documents, JSONDict, Manifest
from .base import ExecResult, ImageInfo, PodRef, Runtime, RuntimeLimit, RuntimeUnavailable, Session, StepError
from .images import ImageStore, ImageUnavailable, manifest_images
from .podman_kubelet import POST_START_TIMEOUT, PRE_STOP_TIMEOUT, Hook, network_failure
from .podman_manifest import ELSEWHERE, declared_names, prepare
from .terminal import PtySession

CACHE_ENV = "CONFORMANCE_CACHE"
#: what podman 4 gives a rootful container when nothing says otherwise
PODMAN_DEFAULT_ULIMITS = {"nofile": 1048576, "nproc": 1048576}
_RLIMIT_NAMES = {resource.RLIMIT_NOFILE: "nofile", resource.RLIMIT_NPROC: "nproc"}
_HEX_ID = re.compile(r"^[0-9a-f]{64}$")
_OPTIONS = {"pull", "network", "terminal", "probe_timeout", "pull_timeout", "apply_timeout", "recipes"}
# how long init containers may take before a play is judged waiting (they wait for a Service, a file...)
INIT_WAIT = 30.0
HOST_FORMAT = 1       # bump when the detection changes
CRASH_LOOP = 3        # restarts after which a container that keeps exiting is a crash loop
NO_NETWORK = "needs network access from the pod; podman pods here have loopback only; runs on --runtime kind"
_INIT_FAILED = re.compile(r"init container ([0-9a-f]{12,64}) exited with code (-?\d+)")


def default_cache_dir() -> Path:
    """$CONFORMANCE_CACHE, else $XDG_CACHE_HOME/k8s-docs-conformance, else ~/.cache/..."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "k8s-docs-conformance"


def find_podman() -> str:
    found = shutil.which("podman")       # the user's PATH: podman is a user command
    if found is None:
        raise RuntimeUnavailable("podman not found: install it with `apt-get install podman runc` (as root), "
                                 "or run `conformance setup`")
    return found


def _which(name: str) -> str | None:
    extra = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return shutil.which(name, path=os.environ.get("PATH", "") + ":" + extra)


# ---------------------------------------------------------------------- host detection

def host_hard_limits() -> dict[str, int | None]:
    """The hard rlimits podman's containers may not exceed (None: unlimited)."""
    limits: dict[str, int | None] = {}
    for number, name in _RLIMIT_NAMES.items():
        hard = resource.getrlimit(number)[1]
        limits[name] = None if hard == resource.RLIM_INFINITY else hard
    return limits


def initial_ulimits(hard: dict[str, int | None]) -> dict[str, int]:
    """podman's defaults, capped at the host's hard limits."""
    return {name: default if (limit := hard.get(name)) is None else min(default, limit)
            for name, default in PODMAN_DEFAULT_ULIMITS.items()}


def lower_ulimit(ulimits: dict[str, int], rlimit_type: int) -> bool:
    """After "error setting rlimit type N": the next power of two below. False if none left."""
    name = _RLIMIT_NAMES.get(rlimit_type)
    if name is None:
        return False
    for value in (2 ** k for k in range(20, 9, -1)):
        if value < ulimits[name]:
            ulimits[name] = value
            return True
    return False


def cgroup_mode() -> str:
    """"unified" (cgroup v2 only), "hybrid" (v1 controllers + a v2 mount) or "legacy"."""
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        return "unified"
    if Path("/sys/fs/cgroup/unified/cgroup.controllers").exists():
        return "hybrid"
    return "legacy"


def oci_runtimes() -> list[tuple[str, str]]:
    """(name, path) of the OCI runtimes installed, the likeliest to work here first.

    crun needs cgroup v2 alone ("cgroups in hybrid mode not supported"): on hybrid or
    legacy hierarchies runc goes first. The probe in start() has the last word.
    """
    order = ["crun", "runc"] if cgroup_mode() == "unified" else ["runc", "crun"]
    return [(name, path) for name in order if (path := _which(name))]


def has_systemd() -> bool:
    return Path("/run/systemd/system").is_dir()


def overlay_supported() -> bool:
    try:
        return any(line.split()[-1] == "overlay" for line in Path("/proc/filesystems").read_text().splitlines())
    except OSError:
        return False


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def containers_conf(*, runtime: str, runtime_path: str, ulimits: dict[str, int], cgroup_manager: str,
                    tmp_dir: Path, network_dir: Path, infra_image: str) -> str:
    """The project-owned containers.conf (CONTAINERS_CONF) for this host."""
    limits = [f"{name}={value}:{value}" for name, value in sorted(ulimits.items())]
    return "\n".join([
        "# Written by conformance/runtime/podman.py from what it detected on this host.",
        "[containers]",
        "# podman's defaults exceed this host's hard limits (runc: setrlimit EPERM)",
        f"default_ulimits = {_toml_list(limits)}",
        'log_driver = "k8s-file"',
        "",
        "[engine]",
        f"runtime = {json.dumps(runtime)}",
        f"cgroup_manager = {json.dumps(cgroup_manager)}",
        'events_logger = "file"',
        "# podman's runtime state next to our runroot, with file locks: nothing shared with",
        "# the user's own podman (whose tmp dir and SHM locks are the defaults)",
        f"tmp_dir = {json.dumps(str(tmp_dir))}",
        'lock_type = "file"',
        f"infra_image = {json.dumps(infra_image)}",
        'infra_command = "/pause"',
        "",
        "[engine.runtimes]",
        f"{runtime} = {_toml_list([runtime_path])}",
        "",
        "[network]",
        f"network_config_dir = {json.dumps(str(network_dir))}",
        "",
    ])


def storage_conf(*, driver: str, graphroot: Path, runroot: Path) -> str:
    return "\n".join([
        "# Written by conformance/runtime/podman.py: the project's own image and container storage.",
        "[storage]",
        f"driver = {json.dumps(driver)}",
        f"graphroot = {json.dumps(str(graphroot))}",
        f"runroot = {json.dumps(str(runroot))}",
        "",
    ])


def registries_conf(blocked: list[str]) -> str:
    lines = ["# Written by conformance/runtime/podman.py: registries this run found unreachable.",
             "# kube play checks a :latest image against its registry (pull policy \"newer\");",
             "# blocking the dead registry makes that check fail at once and use the local image."]
    for registry in blocked:
        lines += ["", "[[registry]]", f"location = {json.dumps(registry)}", "blocked = true"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- paths, owners

RUNROOT_MAX = 50     # podman refuses a longer --runroot (its sockets live below it)


def short_runroot(cache: Path, driver: str) -> Path:
    """The runroot: <cache>/run/<driver> when that is short enough for podman, else a short
    directory of the same kind (runtime state: /run for root, /tmp otherwise) named after
    the cache. Always the same for one cache: podman ties a storage to its runroot."""
    runroot = cache / "run" / driver
    if len(str(runroot)) <= RUNROOT_MAX:
        return runroot
    key = hashlib.sha256(str(cache.resolve()).encode()).hexdigest()[:10]
    base = Path("/run") if os.geteuid() == 0 else Path(tempfile.gettempdir())
    return base / f"k8sdc-{os.geteuid()}-{key}" / driver


class _Paths:
    def __init__(self, cache: Path, driver: str):
        self.cache = cache
        self.driver = driver
        self.graphroot = cache / "storage" / driver
        self.runroot = short_runroot(cache, driver)
        self.tmp_dir = self.runroot / "libpod"
        self.owners = self.runroot / "owners"
        self.networks = cache / "networks"
        self.containers_conf = cache / "containers.conf"
        self.storage_conf = cache / f"storage-{driver}.conf"
        self.registries_conf = cache / "registries.conf"
        self.host_file = cache / "host.json"


def _process_start(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _owner_alive(text: str) -> int | None:
    """The pid of the owning process if it still runs (pid and start time both match)."""
    try:
        pid_text, start = text.split()
        pid = int(pid_text)
    except ValueError:
        return None
    return pid if _process_start(pid) == start else None


def _cgroup_processes(cgroup: str) -> int:
    """How many processes are left in a pod's cgroup (and below), on cgroup v1 or v2."""
    if not cgroup:
        return 0
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        top = Path(base) / cgroup.lstrip("/")
        if top.is_dir():
            count = 0
            for procs in top.rglob("cgroup.procs"):
                try:
                    count += len(procs.read_text().split())
                except OSError:
                    pass
            return count
    return 0


def _write_atomic(path: Path, text: str) -> None:
    """Replace a file whole: other processes of the project may be reading it right now."""
    try:
        if path.read_text() == text:
            return
    except OSError:
        pass
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text)
    os.replace(partial, path)


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


# ---------------------------------------------------------------------- the runtime

class PodmanRuntime(Runtime):
    name = "podman"
    kubernetes_api = False

    def __init__(self, cache_dir: Path | None = None, **options: Any):
        unknown = set(options) - _OPTIONS
        if unknown:
            raise TypeError(f"PodmanRuntime: unknown options {sorted(unknown)}")
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.pull = bool(options.get("pull", True))
        self.network = str(options.get("network", "none"))
        self.pod_network = self.network != "none"
        self.terminal = tuple(options.get("terminal", (40, 200)))   # rows, columns
        self.probe_timeout = float(options.get("probe_timeout", 15.0))
        self.pull_timeout = float(options.get("pull_timeout", 600.0))
        self.apply_timeout = float(options.get("apply_timeout", 120.0))
        self._recipes = options.get("recipes")
        self.podman: str | None = None
        self.settings: JSONDict = {}
        self.paths: _Paths | None = None
        self.store: ImageStore | None = None
        self._pods: dict[str, dict[str, PodRef | None]] = {}     # namespace -> pod name -> ref
        self._pod_ids: dict[str, str] = {}
        self._cgroups: dict[str, str] = {}
        self._volumes: dict[str, set[str]] = {}
        self._configs: dict[str, dict[str, Manifest]] = {}    # namespace -> played ConfigMaps (Secrets as ConfigMaps)
        self._workdirs: set[str] = set()
        self._notes: list[str] = []
        self._sessions: dict[str, list[Session]] = {}
        self._hooks: dict[str, dict[str, dict[str, Hook]]] = {}   # pod -> container -> event -> hook
        self._hook_events: dict[str, list[str]] = {}              # pod -> what its hooks did
        self._started = False

    # -- podman calls ---------------------------------------------------------

    def _base(self) -> list[str]:
        assert self.podman and self.paths
        return [self.podman, "--root", str(self.paths.graphroot), "--runroot", str(self.paths.runroot),
                "--storage-driver", self.paths.driver]

    def _env(self, registries: bool = False) -> dict[str, str]:
        assert self.paths
        env = {k: v for k, v in os.environ.items()
               if k not in ("CONTAINER_HOST", "CONTAINER_CONNECTION", "CONTAINERS_REGISTRIES_CONF")}
        env["CONTAINERS_CONF"] = str(self.paths.containers_conf)
        env["CONTAINERS_STORAGE_CONF"] = str(self.paths.storage_conf)
        blocked = sorted(ImageStore.unreachable())
        if registries and blocked:
            _write_atomic(self.paths.registries_conf, registries_conf(blocked))
            env["CONTAINERS_REGISTRIES_CONF"] = str(self.paths.registries_conf)
        return env

    def _cwd(self) -> str:
        """podman's working folder: the runtime's own. conmon writes files (an empty `oom` when
        a container is OOM-killed) into its working folder, which was the user's."""
        folder = self.cache_dir / "cwd"
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)

    def _podman(self, argv: list[str], timeout: float = 60.0, check: bool = False,
                registries: bool = False, merge_output: bool = False) -> Completed:
        """Run one podman command (argv list, never a shell). Raises TimeoutExpired past `timeout`."""
        result = subprocess.run(self._base() + argv, env=self._env(registries), stdin=subprocess.DEVNULL,
                                cwd=self._cwd(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
                                text=True, errors="replace", timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise StepError(f"podman {' '.join(argv[:2])} failed (exit {result.returncode}): "
                            f"{_last_line(result.stderr or result.stdout)}",
                            diagnostics=(result.stderr or "")[-4000:])
        return result

    def _call(self, argv: list[str], timeout: float = 60.0, **kw: bool) -> Completed:
        try:
            return self._podman(argv, timeout=timeout, **kw)
        except subprocess.TimeoutExpired:
            raise StepError(f"podman {' '.join(argv[:2])} did not finish within {timeout:.0f} s") from None

    # -- start ---------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            return
        self.podman = find_podman()
        try:
            version = subprocess.run([self.podman, "--version"], capture_output=True, text=True,
                                     timeout=30, check=False).stdout.strip()
        except (OSError, subprocess.TimeoutExpired) as err:
            raise RuntimeUnavailable(f"podman does not run here: {err}") from None
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        key = {"format": HOST_FORMAT, "podman": version, "kernel": os.uname().release, "euid": os.geteuid(),
               "limits": host_hard_limits(), "runtimes": oci_runtimes(), "cgroups": cgroup_mode(),
               "systemd": has_systemd(), "overlay": overlay_supported()}
        host_file = self.cache_dir / "host.json"
        cached = None
        try:
            data = json.loads(host_file.read_text())
            if data.get("key") == json.loads(json.dumps(key)):
                cached = data["settings"]
        except (OSError, ValueError, KeyError):
            pass
        if cached:
            self.settings = cached
            self._use(cached["storage_driver"])
            self._write_confs()
            self.store = self._new_store()
            self.store.ensure_pause()
        else:
            self.settings = self._detect(key)
            _write_atomic(host_file, json.dumps({"key": key, "settings": self.settings}, indent=1))
        self._started = True
        _register(self)

    def _new_store(self) -> ImageStore:
        return ImageStore(self._podman, self.cache_dir, pull=self.pull, probe_timeout=self.probe_timeout,
                          pull_timeout=self.pull_timeout, recipes=self._recipes)

    def _use(self, driver: str) -> None:
        self.paths = _Paths(self.cache_dir, driver)
        for directory in (self.paths.graphroot, self.paths.runroot, self.paths.networks):
            directory.mkdir(parents=True, exist_ok=True)
        # The runroot is runtime state, like /run: after a reboot podman must start afresh
        # (its tmp dir, below, tells it so), and nothing of the old boot is running.
        stamp = self.paths.runroot / "boot_id"
        boot = _boot_id()
        try:
            previous = stamp.read_text().strip()
        except OSError:
            previous = None
        if previous is not None and previous != boot:
            for entry in self.paths.runroot.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        stamp.write_text(boot + "\n")
        self.paths.owners.mkdir(parents=True, exist_ok=True)

    def _write_confs(self, infra_image: str | None = None) -> None:
        assert self.paths
        s = self.settings
        if infra_image is None:
            infra_image = ImageStore.pause_name()
        _write_atomic(self.paths.containers_conf, containers_conf(
            runtime=s["runtime"], runtime_path=s["runtime_path"], ulimits=s["ulimits"],
            cgroup_manager=s["cgroup_manager"], tmp_dir=self.paths.tmp_dir, network_dir=self.paths.networks,
            infra_image=infra_image))
        _write_atomic(self.paths.storage_conf, storage_conf(driver=self.paths.driver,
                                                            graphroot=self.paths.graphroot,
                                                            runroot=self.paths.runroot))

    def _detect(self, key: JSONDict) -> JSONDict:
        """Find a storage driver, OCI runtime and ulimits with which a container really runs."""
        runtimes = key["runtimes"]
        if not runtimes:
            raise RuntimeUnavailable("no OCI runtime found for podman: apt-get install runc (as root)")
        drivers = ["overlay", "vfs"] if key["overlay"] else ["vfs"]
        failures = []
        for driver in drivers:
            self._use(driver)
            for runtime, path in runtimes:
                self.settings = {"storage_driver": driver, "runtime": runtime, "runtime_path": path,
                                 "ulimits": initial_ulimits(key["limits"]),
                                 "cgroup_manager": "systemd" if key["systemd"] else "cgroupfs"}
                self._write_confs()
                self.store = self._new_store()
                try:
                    pause = self.store.ensure_pause()
                except (StepError, subprocess.TimeoutExpired) as err:
                    failures.append(f"{driver}: cannot store an image: {err}")
                    break          # storage problem: next driver
                for _ in range(24):
                    error = self._probe(pause)
                    if error is None:
                        return self.settings
                    m = re.search(r"setting rlimit type (\d+)", error)
                    if not (m and lower_ulimit(self.settings["ulimits"], int(m.group(1)))):
                        break
                    self._write_confs()
                failures.append(f"{driver}/{runtime}: {error}")
        raise RuntimeUnavailable("podman cannot run a container on this machine:\n  " + "\n  ".join(failures))

    def _probe(self, image: str) -> str | None:
        """Run the pause image once; None if it ran, else podman's error."""
        try:
            result = self._podman(["run", "--rm", "--network", "none", "--pull=never", image, "/pause", "-v"],
                                  timeout=60)
        except subprocess.TimeoutExpired:
            return "a test container did not finish within 60 s"
        if result.returncode == 0 and "pause" in result.stdout:
            return None
        return _last_line(result.stderr or result.stdout) or f"exit {result.returncode}"

    def _require(self) -> None:
        if not self._started:
            raise StepError("the podman runtime was not started")

    # -- images --------------------------------------------------------------

    def ensure_images(self, manifest: Path) -> list[ImageInfo]:
        """Make every image of a manifest available (pull or offline build), without applying it."""
        self._require()
        assert self.store
        return self.store.ensure_all(manifest_images(_load_manifest(manifest)))

    def images(self) -> list[ImageInfo]:
        return list(self.store.used.values()) if self.store else []

    # -- pods ----------------------------------------------------------------

    def work_dir(self, namespace: str) -> Path:
        """The runtime's own folder for a namespace: `node/` stands in for the node's disk (hostPath
        volumes), `emptydir/` and `volumes/` hold the emptyDir folders and the downwardAPI/projected
        files the suite writes as the kubelet does, `play/` holds the copies of the page's manifests
        that podman plays. Removed at teardown."""
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", namespace).strip(".-") or "default"
        return self.cache_dir / "work" / safe

    def apply_notes(self) -> list[str]:
        return list(self._notes)

    def apply(self, manifest: Path, namespace: str) -> list[PodRef]:
        """Play the copy of the manifest made by podman_manifest.prepare, never the page's file.

        RuntimeLimit (nothing created) when it asks what podman cannot do or what would reach
        the host. ConfigMaps and Secrets are kept for the namespace's later plays.
        """
        self._require()
        assert self.store and self.paths
        manifest = Path(manifest)
        documents = _load_manifest(manifest)
        self._notes = []
        work = self.work_dir(namespace)
        prefix = "k8sdc-" + hashlib.sha256(namespace.encode()).hexdigest()[:8]
        configs = self._configs.setdefault(namespace, {})
        self._workdirs.add(namespace)
        play = prepare(documents, work / "node", prefix, known=configs)
        configs.update(play.configs)
        self._notes = play.notes
        if not play.documents:
            kept = ", ".join(n for n in declared_names(documents)) or "nothing"
            self._notes.append(f"kept for the pods of later steps: {kept}")
            return []
        self.store.ensure_all(manifest_images(play.documents))
        expected = play.pods
        (work / "play").mkdir(parents=True, exist_ok=True)
        played = work / "play" / f"{len(list((work / 'play').iterdir())):03d}-{manifest.name}"
        played.write_text(yaml.safe_dump_all(play.documents, sort_keys=False))
        self._volumes.setdefault(namespace, set()).update(play.volumes)
        tracked = self._pods.setdefault(namespace, {})
        for pod_name in expected:
            self._clear_stale(pod_name, namespace)
            tracked.setdefault(pod_name, None)       # tracked before play: removed whatever happens
            self._own(pod_name)
        argv = ["kube", "play", "--build=false", "--network", self.network, str(played)]
        waiting = _init_commands(play.documents)
        # kube play runs init containers before it returns: one that waits (for a Service, a
        # file) holds it, where Kubernetes creates the pod and lets it wait in Init
        timeout = min(self.apply_timeout, INIT_WAIT) if waiting else self.apply_timeout
        try:
            result = self._call(argv, timeout=timeout, registries=True)
        except StepError as err:
            if not waiting or "did not finish" not in str(err):
                raise
            raise RuntimeLimit(f"the pod's init containers did not finish within {timeout:.0f} s ({waiting[0]}): "
                               "podman kube play waits for them, where Kubernetes creates the pod and lets it "
                               f"wait in Init; {ELSEWHERE}", objects=tuple(declared_names(documents)),
                               pods=tuple(expected)) from None
        sections = _play_output(result.stdout)
        self._volumes.setdefault(namespace, set()).update(sections.get("volume", []))
        pod_ids = sections.get("pod", [])
        refs: list[PodRef] = []
        records = self._inspect_pods(pod_ids) if pod_ids else []
        for record in records:
            pod_name = record["Name"]
            self._pod_ids[pod_name] = record["Id"]
            self._cgroups[pod_name] = record.get("CgroupPath") or ""
            ref = PodRef(pod_name, namespace, _container_names(record, expected.get(pod_name)))
            tracked[pod_name] = ref
            self._own(pod_name)
            refs.append(ref)
        if result.returncode != 0 and " is blocked in " in (result.stderr or ""):
            # a pull kube play insists on (imagePullPolicy: Always), from a registry found dead
            dead = "; ".join(f"{r}: {why}" for r, why in ImageStore.unreachable().items())
            raise ImageUnavailable(f"podman kube play {manifest.name}: the manifest makes every start pull "
                                   f"(imagePullPolicy: Always) and no registry answers here ({dead})",
                                   diagnostics=(result.stderr or "")[-4000:])
        if result.returncode != 0:
            failed = _INIT_FAILED.search(result.stderr or "")
            if failed:
                self._init_failed(failed.group(1), int(failed.group(2)), manifest, documents, list(expected),
                                  result.stderr or "")
            raise StepError(f"podman kube play {manifest.name} failed: {_last_line(result.stderr)}",
                            diagnostics=(result.stderr or "")[-4000:])
        for ref in refs:
            if ref.name in play.hooks:
                self._hooks[ref.name] = play.hooks[ref.name]
                self._post_start(ref)
        return refs

    def _init_failed(self, container_id: str, code: int, manifest: Path, documents: Documents, pods: list[str],
                     stderr: str) -> None:
        """kube play stopped at an init container that exited non-zero: a StepError with its output, or
        RuntimeLimit when the output says it could not reach the network, which pods here cannot.
        The pod is removed now: podman restarts such an init container again and again."""
        result = self._call(["container", "inspect", "--format", "{{.Name}}", container_id], timeout=30)
        name = result.stdout.strip() or container_id[:12]
        pod_name = next((p for p in pods if name.startswith(p + "-")), "")
        logs = self._call(["logs", "--tail", "200", container_id], timeout=30, merge_output=True).stdout
        what = f"init container {name[len(pod_name) + 1:] if pod_name else name!r} of pod {pod_name or '?'}"
        diagnostics = f"{name}: exited {code}\n" + _tail(logs) + "\n" + stderr[-2000:]
        with contextlib.suppress(StepError):
            self._remove_pods([pod_name] if pod_name else [])
        line = None if self.pod_network else network_failure(logs)
        if line:
            raise RuntimeLimit(f"{what} exited {code} after printing `{line}`: {NO_NETWORK}",
                               objects=tuple(declared_names(documents)), pods=tuple(pods), diagnostics=diagnostics)
        raise StepError(f"podman kube play {manifest.name} failed: {what} exited with code {code}: "
                        f"{_last_line(logs) or 'no output'}", diagnostics=diagnostics)

    # -- lifecycle hooks (kube play 4.3 ignores them; the suite runs them as the kubelet does) -----------

    def _run_hook(self, container: str, hook: Hook, timeout: float) -> tuple[int | None, str]:
        """(exit status, output) of one hook; status None when it did not finish within timeout."""
        if hook.action == "sleep":
            time.sleep(max(0.0, min(hook.seconds, timeout)))
            return 0, ""
        try:
            result = self._podman(["exec", container, *hook.argv], timeout=timeout, merge_output=True)
        except subprocess.TimeoutExpired:
            return None, f"did not finish within {timeout:.0f} s"
        return result.returncode, result.stdout

    def _post_start(self, pod: PodRef) -> None:
        """Each container's postStart hook, once kube play started it. A hook that fails is what the
        kubelet makes of it: the container is killed (FailedPostStartHook), and the step fails with the
        hook's output (or is a RuntimeLimit when that output says the network could not be reached)."""
        for container, hooks in self._hooks.get(pod.name, {}).items():
            hook = hooks.get("postStart")
            if hook is None:
                continue
            name = f"{pod.name}-{container}"
            status, output = self._run_hook(name, hook, POST_START_TIMEOUT)
            event = f"postStart hook of {container} ({hook.describe()}): " + (
                "completed" if status == 0 else f"failed ({'exit ' + str(status) if status is not None else output})")
            self._hook_events.setdefault(pod.name, []).append(event)
            if status == 0:
                continue
            self._call(["kill", name], timeout=30)
            diagnostics = f"{event}\n{_tail(output)}"
            line = None if self.pod_network else network_failure(output)
            if line:
                raise RuntimeLimit(f"pod {pod.name}: the {event}, printing `{line}`: {NO_NETWORK}",
                                   pods=(pod.name,), diagnostics=diagnostics)
            raise StepError(f"pod {pod.name}: the {event}; the kubelet kills the container "
                            f"(FailedPostStartHook): {_last_line(output) or 'no output'}", diagnostics=diagnostics)

    def _pre_stop(self, names: list[str], watched: bool = True) -> None:
        """The preStop hooks of these pods' running containers, before they are deleted (each bounded,
        as the kubelet bounds them by the grace period). A failed hook is an event; deletion goes on.
        `watched` False (teardown, nobody looks any more): sleep hooks are not waited for."""
        for pod_name in names:
            for container, hooks in self._hooks.pop(pod_name, {}).items():
                hook = hooks.get("preStop")
                if hook is None or (hook.action == "sleep" and not watched):
                    continue
                status, output = self._run_hook(f"{pod_name}-{container}", hook, PRE_STOP_TIMEOUT)
                self._hook_events.setdefault(pod_name, []).append(
                    f"preStop hook of {container} ({hook.describe()}): "
                    + ("completed" if status == 0 else f"failed ({_last_line(output) or status})"))

    def _own(self, pod_name: str) -> None:
        assert self.paths
        pid = os.getpid()
        _write_atomic(self.paths.owners / pod_name, f"{pid} {_process_start(pid)}\n")

    def _clear_stale(self, pod_name: str, namespace: str) -> None:
        """Remove a pod of that name left in project storage, unless a live run still uses it."""
        assert self.paths
        if self._call(["pod", "exists", pod_name], timeout=30).returncode != 0:
            return
        elsewhere = [ns for ns, pods in self._pods.items() if pod_name in pods and ns != namespace]
        if elsewhere:
            # podman has no namespaces: one pod name at a time, whatever the namespace
            raise StepError(f"pod {pod_name} already exists, created in namespace {elsewhere[0]} of this run "
                            "(podman pods have no namespace: tear that one down first)")
        try:
            owner = _owner_alive((self.paths.owners / pod_name).read_text())
        except OSError:
            owner = None
        if owner is not None and owner != os.getpid():
            raise StepError(f"pod {pod_name} exists in the project's podman storage and belongs to another "
                            f"running conformance process (pid {owner}); wait for it, or stop it and run "
                            "`conformance clean`")
        self._remove_pods([pod_name])

    def _inspect_pods(self, ids: list[str]) -> list[JSONDict]:
        result = self._call(["pod", "inspect", "--format", "json", *ids], timeout=30)
        try:
            data = json.loads(result.stdout or "[]")
        except json.JSONDecodeError:
            return []
        return [data] if isinstance(data, dict) else list(data)

    def _remove_pods(self, names: list[str]) -> None:
        """Stop, let conmon's clean-up processes finish, then remove.

        podman 4.3 `pod rm -f` of a running pod takes the pod's lock while the containers'
        exit commands (`podman container cleanup`, in the pod's cgroup) wait for it; the
        removal then retries deleting the busy cgroup for 3 s and kills them. Stopping first
        and waiting (bounded) for the pod cgroup to empty makes removal take 0.1 s.
        """
        if not names:
            return
        self._call(["pod", "stop", "--ignore", "-t", "0", *names], timeout=60)
        cgroups = [self._cgroups.pop(name, "") for name in names]
        if any(cgroups):
            try:
                Retrying(stop=stop_after_delay(2.0), wait=wait_fixed(0.02),
                         retry=retry_if_result(bool))(lambda: sum(map(_cgroup_processes, cgroups)))
            except RetryError:
                pass          # removal copes, only slower
        result = self._call(["pod", "rm", "--ignore", "-f", "-t", "0", *names], timeout=60)
        if result.returncode != 0:
            raise StepError(f"podman pod rm {' '.join(names)} failed: {_last_line(result.stderr)}")
        if self.paths:
            for name in names:
                (self.paths.owners / name).unlink(missing_ok=True)
                self._pod_ids.pop(name, None)

    def _container(self, pod: PodRef, container: str | None) -> str:
        if container is None:
            if not pod.containers:
                raise StepError(f"pod {pod.name} has no containers")
            container = pod.containers[0]
        elif pod.containers and container not in pod.containers:
            raise StepError(f"pod {pod.name} has no container {container!r} "
                            f"(containers: {', '.join(pod.containers)})")
        return f"{pod.name}-{container}"      # kube play's container names

    def _states(self, pod: PodRef) -> dict[str, JSONDict]:
        names = [self._container(pod, c) for c in pod.containers]
        if not names:
            return {}
        result = self._call(["container", "inspect", "--format", "json", *names], timeout=30)
        try:
            records = json.loads(result.stdout or "[]")
        except json.JSONDecodeError:
            records = []
        states = {r.get("Name"): r for r in records}
        return {name: states.get(name, {}) for name in names}

    def wait_running(self, pod: PodRef, timeout: float = 60.0) -> None:
        """Bounded wait until every container runs, or, where the restart policy lets a container
        end (Never, OnFailure: Jobs and pods that run to completion), has completed with exit 0.
        StepError with each container's status and logs on a non-zero exit that is not restarted,
        a crash loop, or a timeout."""
        self._require()

        def settled() -> bool | str:
            states = self._states(pod)
            if not states:
                return False
            done = True
            for name, record in states.items():
                if not record:
                    return f"container {name} does not exist"
                state = record.get("State") or {}
                policy = ((record.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name", "")
                code, restarts = state.get("ExitCode"), record.get("RestartCount") or 0
                if restarts >= CRASH_LOOP:
                    last = "" if state.get("Status") == "running" else f"exit {code}; "
                    return f"container {name} keeps exiting ({last}restarted {restarts} times: a crash loop)"
                if state.get("Status") == "running":
                    continue
                ended = state.get("Status") in ("exited", "stopped")
                if ended and code == 0 and policy in ("", "no", "on-failure"):
                    continue          # ran to completion, as the restart policy allows
                if ended and code != 0 and policy in ("", "no"):
                    return f"container {name} exited ({code}) and is not restarted"
                done = False
            return done

        retrying = Retrying(stop=stop_after_delay(timeout), retry=retry_if_result(lambda r: r is False),
                            wait=wait_exponential(multiplier=0.02, min=0.02, max=0.5))
        try:
            outcome = retrying(settled)
        except RetryError as err:
            outcome = err.last_attempt.result()
        if outcome is True:
            return
        why = outcome if isinstance(outcome, str) else f"not all containers running after {timeout:.0f} s"
        diagnostics = self._diagnostics(pod)
        if isinstance(outcome, str) and not self.pod_network:
            for name, record in self._states(pod).items():
                if (record.get("State") or {}).get("Status") == "running" and not record.get("RestartCount"):
                    continue          # only what ended or restarted tells why the pod failed
                logs = self._call(["logs", "--tail", "200", name], timeout=30, merge_output=True).stdout
                line = network_failure(logs)
                if line:
                    raise RuntimeLimit(f"pod {pod.name}: {why}, after printing `{line}`: {NO_NETWORK}",
                                       pods=(pod.name,), diagnostics=diagnostics)
        raise StepError(f"pod {pod.name}: {why}", diagnostics=diagnostics)

    def _diagnostics(self, pod: PodRef) -> str:
        lines = []
        try:
            for name, record in self._states(pod).items():
                state = record.get("State") or {}
                lines.append(f"{name}: {state.get('Status', 'missing')} exit={state.get('ExitCode')} "
                             f"restarts={record.get('RestartCount', 0)} {state.get('Error') or ''}".rstrip())
                logs = self._call(["logs", "--tail", "200", name], timeout=30, merge_output=True).stdout
                lines.append(_tail(logs))
        except StepError as err:
            lines.append(str(err))
        return "\n".join(lines)

    # -- sessions ------------------------------------------------------------

    def _spawn(self, pod: PodRef, argv: list[str], close_keys: list[str], description: str) -> Session:
        self._require()
        command = self._base() + argv
        child = pexpect.spawn(command[0], command[1:], env=self._env(), encoding="utf-8", cwd=self._cwd(),
                              codec_errors="replace", dimensions=self.terminal, timeout=30)
        child.delaybeforesend = None
        sessions = self._sessions.setdefault(pod.namespace, [])
        try:
            session = PtySession(child, close_keys=close_keys, description=description)
        except BaseException:
            child.close(force=True)
            raise
        sessions.append(session)
        return session

    def attach(self, pod: PodRef, container: str | None) -> Session:
        name = self._container(pod, container)
        # --sig-proxy=false: closing our side never signals the container's process;
        # ctrl-p ctrl-q detaches (podman's detach keys), leaving it running.
        return self._spawn(pod, ["attach", "--sig-proxy=false", "--detach-keys", "ctrl-p,ctrl-q", name],
                           close_keys=["\x10", "\x11"], description=f"attach {name}")

    def exec_session(self, pod: PodRef, container: str | None, argv: list[str]) -> Session:
        name = self._container(pod, container)
        # closing sends end-of-file, which ends the shell we started (nothing left running)
        return self._spawn(pod, ["exec", "-it", "--detach-keys", "", name, *argv],
                           close_keys=["\x04"], description=f"exec {name} {' '.join(argv)}")

    def exec(self, pod: PodRef, container: str | None, argv: list[str], timeout: float = 30.0) -> ExecResult:
        self._require()
        name = self._container(pod, container)
        result = self._call(["exec", name, *argv], timeout=timeout)
        return ExecResult(result.returncode, result.stdout, result.stderr)

    def logs(self, pod: PodRef, container: str | None = None) -> str:
        self._require()
        return self._call(["logs", self._container(pod, container)], timeout=30, merge_output=True).stdout

    def events(self, pod: PodRef) -> str:
        self._require()
        pod_id = self._pod_ids.get(pod.name)
        if pod_id is None:
            records = self._inspect_pods([pod.name])
            pod_id = records[0]["Id"] if records else None
        hooks = self._hook_events.get(pod.name, [])
        if pod_id is None:
            return "\n".join(hooks)
        result = self._call(["events", "--stream=false", "--format", "json"], timeout=30)
        lines = list(hooks)
        for line in result.stdout.splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("PodID") == pod_id or event.get("ID") == pod_id:
                lines.append(f"{event.get('Time', '')} {event.get('Type', '')} {event.get('Status', '')} "
                             f"{event.get('Name', '')}")
        return "\n".join(lines)

    # -- removal -------------------------------------------------------------

    def delete(self, pod: PodRef) -> None:
        self._require()
        self._pre_stop([pod.name])
        self._remove_pods([pod.name])
        for pods in self._pods.values():
            pods.pop(pod.name, None)

    def teardown(self, namespace: str) -> None:
        for session in self._sessions.pop(namespace, []):
            with contextlib.suppress(Exception):      # the pods go, whatever a session did
                session.close()
        pods = self._pods.pop(namespace, {})
        for name in pods:
            self._hook_events.pop(name, None)
        volumes = self._volumes.pop(namespace, set())
        self._configs.pop(namespace, None)
        try:
            if self._started and pods:
                with contextlib.suppress(Exception):     # the pods go, whatever a hook does
                    self._pre_stop(sorted(pods), watched=False)
                self._remove_pods(sorted(pods))
        finally:
            try:
                if self._started and volumes:
                    self._call(["volume", "rm", "-f", *sorted(volumes)], timeout=60)
            finally:
                if namespace in self._workdirs:
                    self._workdirs.discard(namespace)
                    shutil.rmtree(self.work_dir(namespace), ignore_errors=True)

    def close(self) -> None:
        errors = []
        for namespace in list(self._pods) + list(self._sessions) + list(self._workdirs):
            try:
                self.teardown(namespace)
            except StepError as err:
                errors.append(str(err))
        _unregister(self)
        if errors:
            raise StepError("teardown failed: " + "; ".join(errors))


# ---------------------------------------------------------------------- manifest helpers

def _init_commands(documents: list[Manifest]) -> list[str]:
    """The init containers' commands of the played pods, as text (for the report)."""
    found = []
    for doc in documents:
        spec = doc.get("spec") or {}
        if doc.get("kind") == "Deployment":
            spec = (spec.get("template") or {}).get("spec") or {}
        for container in spec.get("initContainers") or []:
            words = [str(w) for w in (container.get("command") or []) + (container.get("args") or [])]
            found.append(f"init container {container.get('name')!r}: `{' '.join(words)[:80]}`")
    return found


def _load_manifest(path: Path) -> Documents:
    try:
        return [d for d in yaml.safe_load_all(Path(path).read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as err:
        raise StepError(f"cannot read manifest {path}: {err}") from None


def _expected_pods(documents: Documents) -> dict[str, list[str | None]]:
    """Pod names kube play will create -> container names (None: unnamed), where we can tell beforehand."""
    pods: dict[str, list[str | None]] = {}
    for doc in documents:
        if not isinstance(doc, dict):
            continue
        kind, meta, spec = doc.get("kind"), doc.get("metadata") or {}, doc.get("spec") or {}
        name = meta.get("name") if isinstance(meta, dict) else None
        if not isinstance(name, str) or not isinstance(spec, dict):
            continue
        if kind == "Pod":
            pods[name] = [c.get("name") for c in spec.get("containers") or [] if isinstance(c, dict)]
        elif kind == "Deployment":
            template = (spec.get("template") or {}).get("spec") or {}
            names = [c.get("name") for c in template.get("containers") or [] if isinstance(c, dict)]
            for i in range(int(spec.get("replicas", 1) or 1)):
                pods[f"{name}-pod-{i}"] = names     # podman 4's naming
    return pods


def _play_output(stdout: str) -> dict[str, list[str]]:
    """kube play's report: "Pod:" / "Containers:" / "Volumes:" headers, one id or name a line."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.endswith(":") and " " not in line:
            current = line[:-1].lower().rstrip("s")
            continue
        if current == "pod" and not _HEX_ID.match(line):
            continue
        if current:
            sections.setdefault(current, []).append(line)
    return sections


def _container_names(record: JSONDict, expected: list[str | None] | None) -> tuple[str, ...]:
    prefix = record["Name"] + "-"
    infra = record.get("InfraContainerID")
    present = [c["Name"][len(prefix):] for c in record.get("Containers") or []
               if c.get("Id") != infra and c.get("Name", "").startswith(prefix)]
    # the manifest's own containers, in its order; init containers (run to completion) left out
    ordered = [name for name in expected or [] if name is not None and name in present]
    return tuple(ordered or present)


def _tail(text: str, lines: int = 20) -> str:
    """The last lines of a container's output, indented, runs of one repeated line told once (podman
    restarts a failing container, and its log holds every run)."""
    runs: list[list[Any]] = []      # [line, how many times in a row]
    for line in (text or "").rstrip().splitlines():
        if runs and runs[-1][0] == line:
            runs[-1][1] += 1
        else:
            runs.append([line, 1])
    return "\n".join(f"  {line}" + (f"  (x{count})" if count > 1 else "") for line, count in runs[-lines:])


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


# ---------------------------------------------------------------------- clean-up

def cleanup_all(cache_dir: Path | None = None) -> list[str]:
    """Remove every pod (and stray container) in the project's podman storage.

    For `conformance clean` and after an interrupted run. Images stay. Returns the pod names.
    """
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    podman = shutil.which("podman")
    if podman is None or not (cache / "storage").is_dir():
        return []
    removed: list[str] = []
    for graphroot in sorted((cache / "storage").iterdir()):
        driver = graphroot.name
        paths = _Paths(cache, driver)
        if not paths.containers_conf.exists() or not paths.storage_conf.exists():
            continue
        runtime = PodmanRuntime(cache)
        runtime.podman, runtime.paths = podman, paths
        listed = runtime._call(["pod", "ps", "--format", "{{.Name}}"], timeout=60, check=True)
        names = [n for n in listed.stdout.split() if n]
        if names:
            runtime._cgroups = {r["Name"]: r.get("CgroupPath") or "" for r in runtime._inspect_pods(names)}
        runtime._remove_pods(names)
        runtime._call(["rm", "-a", "-f", "-t", "0"], timeout=120)
        removed += names
        for owner in paths.owners.glob("*") if paths.owners.is_dir() else []:
            owner.unlink(missing_ok=True)
    return removed


# Runtimes with pods alive in this process: an interrupted run (Ctrl-C, SIGTERM, SIGHUP, a
# plain exit) still removes the pods it created.
_LIVE: weakref.WeakSet[PodmanRuntime] = weakref.WeakSet()
_GUARD = {"installed": False}


def _cleanup_live() -> None:
    for runtime in list(_LIVE):
        with contextlib.suppress(BaseException):     # best effort at exit; never mask the real error
            runtime.close()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _cleanup_live()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _register(runtime: PodmanRuntime) -> None:
    _LIVE.add(runtime)
    if _GUARD["installed"]:
        return
    _GUARD["installed"] = True
    atexit.register(_cleanup_live)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _on_signal)


def _unregister(runtime: PodmanRuntime) -> None:
    _LIVE.discard(runtime)
