"""Images for the podman runtime: from project storage, from a registry, or built offline.

For each image a manifest names, in this order:
1. already in the project's podman storage: used as it is (a pulled image, or one we built
   before whose recipe has not changed since);
2. pulled from its registry, when the registry answers a short probe (each registry is
   probed once per process; an unreachable one is remembered and never waited on again);
3. built offline from the recipe for its repository in conformance/data/offline-images.yaml
   (Debian packages, no registry), cached: the root filesystem tarball under the cache dir,
   the image in project storage.
The result is tagged under the fully-qualified name the manifest's image normalizes to in
Kubernetes (nginx -> docker.io/library/nginx:latest), which is the name `podman kube play`
finds locally for the short name.

The pod sandbox's pause image is compiled from pause.c (gcc -static) and imported as a
one-file image.
"""
from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..typing import Completed, Documents, JSONDict, ManifestPart
from .base import ImageInfo, RuntimeUnavailable, StepError

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "offline-images.yaml"
PAUSE_SOURCE = Path(__file__).resolve().with_name("pause.c")
PAUSE_REPOSITORY = "localhost/k8s-docs-conformance/pause"
BUILT_REPOSITORY = "localhost/k8s-docs-conformance/offline"
LABEL_SOURCE = "k8s-docs-conformance.source"
LABEL_RECIPE = "k8s-docs-conformance.recipe"
# Bump when the build steps below change, so images built by older code are rebuilt.
BUILD_FORMAT = 1

PROBE_TIMEOUT = 15.0     # one registry round trip; fails in ~30 ms here (no DNS for registries)
PULL_TIMEOUT = 600.0     # a real pull once the registry answered
BUILD_TIMEOUT = 900.0    # debootstrap: ~35-45 s here, more on a slow mirror

# What a registry that cannot be reached says (as opposed to "no such image").
_NETWORK_ERROR = re.compile(
    r"dial tcp|no such host|connection refused|i/o timeout|network is unreachable|no route to host"
    r"|TLS handshake|server misbehaving|timeout|blocked in|connection reset|temporary failure",
    re.IGNORECASE)

# Registries found unreachable in this process: registry -> reason. Probed once per process.
_UNREACHABLE: dict[str, str] = {}


class ImageUnavailable(RuntimeUnavailable, StepError):
    """An image cannot be had here (no registry, no offline recipe); the message says why.

    Both a RuntimeUnavailable (the block cannot run on this machine: skip with the reason)
    and a StepError (for callers that only catch those).
    """


# ---------------------------------------------------------------------- image names

@dataclass(frozen=True)
class ImageName:
    registry: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        return f"{self.registry}/{self.path}"

    def __str__(self) -> str:
        name = self.repository
        if self.tag:
            name += f":{self.tag}"
        if self.digest:
            name += f"@{self.digest}"
        return name


_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


def parse_image(reference: str) -> ImageName:
    """Parse an image reference the way Kubernetes (the Docker reference grammar) does.

    "nginx" -> docker.io/library/nginx:latest, "user/app:1" -> docker.io/user/app:1,
    "registry.k8s.io/pause:3.9" stays as it is; a digest reference keeps its digest.
    """
    ref = reference.strip()
    if not ref or any(c.isspace() for c in ref):
        raise ValueError(f"invalid image reference {reference!r}")
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
        if not _DIGEST.match(digest):
            raise ValueError(f"invalid digest in image reference {reference!r}")
    tag = None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref, tag = ref.rsplit(":", 1)
        if not _TAG.match(tag):
            raise ValueError(f"invalid tag in image reference {reference!r}")
    parts = ref.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry, path = parts[0], "/".join(parts[1:])
    else:
        registry, path = "docker.io", ref
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = "docker.io"
    if registry == "docker.io" and "/" not in path:
        path = f"library/{path}"
    if not all(_PATH_COMPONENT.match(p) for p in path.split("/")):
        raise ValueError(f"invalid repository name in image reference {reference!r}")
    if tag is None and digest is None:
        tag = "latest"
    return ImageName(registry, path, tag, digest)


def normalize_image(reference: str) -> str:
    """The fully-qualified name Kubernetes pulls for `reference`."""
    return str(parse_image(reference))


def manifest_images(documents: Documents) -> list[str]:
    """Image references of every container, init container and ephemeral container, in order."""
    found: list[str] = []

    def visit(spec: ManifestPart) -> None:
        for key in ("initContainers", "containers", "ephemeralContainers"):
            for container in spec.get(key) or []:
                image = isinstance(container, dict) and container.get("image")
                if isinstance(image, str) and image not in found:
                    found.append(image)

    for doc in documents:
        if not isinstance(doc, dict):
            continue
        spec = doc.get("spec") or {}
        if not isinstance(spec, dict):
            continue
        visit(spec)
        template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template") or {}
        if isinstance(template, dict) and isinstance(template.get("spec"), dict):
            visit(template["spec"])
    return found


# ---------------------------------------------------------------------- apt configuration

@dataclass
class AptSource:
    types: list[str]
    uris: list[str]
    suites: list[str]
    components: list[str]
    origin: str = ""


def apt_sources(root: Path = Path("/")) -> list[AptSource]:
    """The host's enabled apt sources: sources.list, sources.list.d/*.list and deb822 *.sources."""
    etc = root / "etc" / "apt"
    found: list[AptSource] = []
    one_line = [etc / "sources.list"] + sorted((etc / "sources.list.d").glob("*.list"))
    for path in one_line:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            line = re.sub(r"\[[^\]]*\]", " ", line)     # [arch=amd64 signed-by=...]
            words = line.split()
            if len(words) >= 3 and words[0] in ("deb", "deb-src"):
                found.append(AptSource([words[0]], [words[1]], [words[2]], words[3:], str(path)))
    for path in sorted((etc / "sources.list.d").glob("*.sources")):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for stanza in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            key = None
            for line in stanza.splitlines():
                if line.lstrip().startswith("#") or not line.strip():
                    continue
                if line[0] in " \t" and key:
                    fields[key] += " " + line.strip()
                    continue
                if ":" in line:
                    key, value = line.split(":", 1)
                    key = key.strip().lower()
                    fields[key] = value.strip()
            if fields.get("enabled", "yes").lower() == "no" or "uris" not in fields:
                continue
            found.append(AptSource(fields.get("types", "deb").split(), fields["uris"].split(),
                                   fields.get("suites", "").split(), fields.get("components", "").split(),
                                   str(path)))
    return found


def debian_mirror(suite: str, root: Path = Path("/")) -> str | None:
    """The host's own mirror for a Debian suite, or None (debootstrap then uses its default)."""
    for source in apt_sources(root):
        if "deb" not in source.types or suite not in source.suites:
            continue
        for uri in source.uris:
            if re.match(r"(https?|ftp|file)://", uri):
                return uri.rstrip("/")
    return None


# ---------------------------------------------------------------------- recipes

@dataclass
class Recipe:
    repository: str
    description: str = ""
    # as the recipes file (data/offline-images.yaml) writes them
    rootfs: dict[str, Any] = field(default_factory=dict)     # method -> its settings
    dirs: dict[str, Any] = field(default_factory=dict)       # path -> mode
    files: dict[str, Any] = field(default_factory=dict)      # path -> content, or {content|symlink, mode}
    run: list[list[str]] = field(default_factory=list)       # RUN argvs
    config: dict[str, Any] = field(default_factory=dict)     # env, workdir, user, expose, ...

    def key(self) -> str:
        """Changes whenever the recipe or the build steps change."""
        content = json.dumps([BUILD_FORMAT, self.repository, self.rootfs, self.dirs, self.files,
                              self.run, self.config], sort_keys=True)
        return hashlib.sha256(content.encode()).hexdigest()[:12]

    @property
    def short(self) -> str:
        return parse_image(self.repository).path.replace("library/", "", 1)


def load_recipes(path: Path = DATA_FILE) -> dict[str, Recipe]:
    """Recipes keyed by normalized repository (docker.io/library/nginx)."""
    data = yaml.safe_load(path.read_text()) or {}
    recipes: dict[str, Recipe] = {}
    for name, body in (data.get("images") or {}).items():
        repository = parse_image(name).repository
        body = body or {}
        unknown = set(body) - {"description", "rootfs", "dirs", "files", "run", "config"}
        if unknown:
            raise ValueError(f"{path}: {name}: unknown keys {sorted(unknown)}")
        rootfs = body.get("rootfs") or {}
        if len(rootfs) != 1 or next(iter(rootfs)) not in ("debs", "debootstrap"):
            raise ValueError(f"{path}: {name}: rootfs must be one of debs, debootstrap")
        for argv in body.get("run") or []:
            if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
                raise ValueError(f"{path}: {name}: run steps are argv lists")
        recipes[repository] = Recipe(repository, body.get("description", ""), rootfs,
                                     {str(k): str(v) for k, v in (body.get("dirs") or {}).items()},
                                     body.get("files") or {}, body.get("run") or [],
                                     body.get("config") or {})
    return recipes


# ---------------------------------------------------------------------- helpers

PodmanCall = Callable[..., Completed]


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialize builds of one image across processes sharing the cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _mounts_below(path: Path) -> list[str]:
    prefix = str(path.resolve()).rstrip("/") + "/"
    mounts = []
    try:
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].encode().decode("unicode_escape")
            if point.startswith(prefix) or point == prefix[:-1]:
                mounts.append(point)
    except OSError:
        pass
    return sorted(mounts, key=len, reverse=True)


def safe_rmtree(path: Path) -> None:
    """Remove a build tree: never descend into a mount (debootstrap mounts /proc, maybe /dev)."""
    if not path.exists():
        return
    for point in _mounts_below(path):
        subprocess.run(["umount", point], capture_output=True, timeout=30, check=False)
        if point in _mounts_below(path):
            subprocess.run(["umount", "-l", point], capture_output=True, timeout=30, check=False)
    if _mounts_below(path):
        raise StepError(f"cannot remove {path}: something is still mounted below it")
    device = path.lstat().st_dev

    def remove(p: Path) -> None:
        for entry in os.scandir(p):
            st = entry.stat(follow_symlinks=False)
            if entry.is_dir(follow_symlinks=False):
                if st.st_dev != device:       # a mount we could not see: leave it alone
                    continue
                remove(Path(entry.path))
                os.rmdir(entry.path)
            else:
                os.unlink(entry.path)

    remove(path)
    path.rmdir()


def _inside(root: Path, path: str) -> Path:
    """A recipe path inside the root filesystem being built."""
    parts = Path(path).parts
    if not path.startswith("/") or ".." in parts:
        raise ValueError(f"recipe path {path!r} must be absolute, without '..'")
    return root.joinpath(*parts[1:])


def _run(argv: list[str], timeout: float, what: str, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> Completed:
    try:
        result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        raise ImageUnavailable(f"{what}: {argv[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise ImageUnavailable(f"{what}: {argv[0]} did not finish within {timeout:.0f} s") from None
    if result.returncode != 0:
        raise ImageUnavailable(f"{what}: {' '.join(argv[:3])} ... exited {result.returncode}",
                               diagnostics=(result.stdout + result.stderr)[-4000:])
    return result


def _which(name: str) -> str | None:
    extra = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return shutil.which(name, path=os.environ.get("PATH", "") + ":" + extra)


# ---------------------------------------------------------------------- the store

class ImageStore:
    """Images of one podman runtime: ensure() each image a manifest names, report them."""

    def __init__(self, podman: PodmanCall, cache_dir: Path, *, pull: bool = True,
                 probe_timeout: float = PROBE_TIMEOUT, pull_timeout: float = PULL_TIMEOUT,
                 recipes: dict[str, Recipe] | None = None, apt_root: Path = Path("/")):
        self._podman = podman
        self.cache_dir = cache_dir
        self.pull = pull
        self.probe_timeout = probe_timeout
        self.pull_timeout = pull_timeout
        self._recipes = recipes
        self._apt_root = apt_root
        self.used: dict[str, ImageInfo] = {}          # reference as written -> info
        self._ready: dict[str, str] = {}             # normalized name -> source

    @property
    def recipes(self) -> dict[str, Recipe]:
        if self._recipes is None:
            self._recipes = load_recipes()
        return self._recipes

    @staticmethod
    def unreachable() -> dict[str, str]:
        """Registries found unreachable in this process, with the reason."""
        return dict(_UNREACHABLE)

    # -- storage ---------------------------------------------------------------

    def inspect(self, names: list[str]) -> dict[str, JSONDict]:
        """name -> `podman images` record, for those of `names` in project storage (one call)."""
        if not names:
            return {}
        result = self._podman(["images", "--format", "json"], timeout=60)
        try:
            records = json.loads(result.stdout or "[]") or []
        except json.JSONDecodeError:
            records = []
        index = {n: record for record in records for n in (record.get("Names") or [])}
        return {name: index[name] for name in names if name in index}

    def exists(self, name: str) -> bool:
        return self._podman(["image", "exists", name], timeout=30).returncode == 0

    # -- ensure ----------------------------------------------------------------

    def ensure_all(self, references: list[str]) -> list[ImageInfo]:
        wanted = []
        for ref in references:
            try:
                wanted.append((ref, normalize_image(ref)))
            except ValueError as err:
                raise ImageUnavailable(str(err)) from None
        missing = [name for _, name in wanted if name not in self._ready]
        present = self.inspect(sorted(set(missing))) if missing else {}
        return [self.ensure(ref, record=present.get(name), looked_up=True) for ref, name in wanted]

    def ensure(self, reference: str, record: JSONDict | None = None, looked_up: bool = False) -> ImageInfo:
        """Make `reference` available in project storage; say where it came from."""
        try:
            image = parse_image(reference)
        except ValueError as err:
            raise ImageUnavailable(str(err)) from None
        name = str(image)
        if name not in self._ready:
            if record is None and not looked_up:
                record = self.inspect([name]).get(name)
            self._ready[name] = self._obtain(reference, image, record)
        info = ImageInfo(reference=reference, source=self._ready[name])
        self.used[reference] = info
        return info

    def _obtain(self, reference: str, image: ImageName, record: JSONDict | None) -> str:
        name = str(image)
        recipe = self.recipes.get(image.repository)
        if record is not None:
            labels = record.get("Labels") or {}
            built_from = labels.get(LABEL_RECIPE)
            if built_from is None:
                digest = (record.get("Digest") or "")[:19]
                return f"{name}: in project storage (pulled{', ' + digest if digest else ''})"
            if recipe is None or built_from == recipe.key():
                # Built offline by an earlier run: a registry that answers now has the real
                # image. Asking also tells kube play, which checks a :latest image against its
                # registry on every play, that a dead registry is dead (see registries_conf).
                if self._try_pull(image) is None:
                    return f"{name}: pulled from {image.registry}"
                return f"{name}: {labels.get(LABEL_SOURCE, 'built offline')} (cached)"
            # built from an older recipe: fall through and rebuild
        pull_reason = self._try_pull(image)
        if pull_reason is None:
            return f"{name}: pulled from {image.registry}"
        if recipe is None:
            # the registry's own words (long) go to the diagnostics, the reason stays one line
            raise ImageUnavailable(
                f"image {reference!r} ({name}) is not available here: registry {image.registry} does not "
                f"answer, and {DATA_FILE.name} has no offline recipe for {image.repository}",
                diagnostics=pull_reason)
        if image.digest:
            raise ImageUnavailable(
                f"image {reference!r} names a digest: {pull_reason}, and an image built offline "
                "cannot have that digest")
        built, source = self.build(recipe)
        self._podman(["tag", built, name], timeout=60, check=True)
        if record is not None:
            # the image built from the older recipe lost its name: drop what nothing uses
            self._podman(["image", "prune", "--force"], timeout=120)
        return f"{name}: {source}"

    # -- registry --------------------------------------------------------------

    def _try_pull(self, image: ImageName) -> str | None:
        """Pull `image`; None on success, else why not (the registry is probed once per process)."""
        if not self.pull:
            return "pulling is turned off"
        registry = image.registry
        if registry == "localhost":
            return "localhost images are never pulled"
        if registry in _UNREACHABLE:
            return f"registry {registry} unreachable ({_UNREACHABLE[registry]})"
        name = str(image)
        # A manifest fetch is one small round trip: it tells a dead registry from a slow
        # download, so the real pull below may take long without us waiting on a dead one.
        started = time.monotonic()
        try:
            probe = self._podman(["manifest", "inspect", name], timeout=self.probe_timeout)
        except subprocess.TimeoutExpired:
            _UNREACHABLE[registry] = f"no answer within {self.probe_timeout:.0f} s"
            return f"registry {registry} unreachable ({_UNREACHABLE[registry]})"
        if probe.returncode != 0:
            message = (probe.stderr or probe.stdout).strip().splitlines()
            last = message[-1] if message else f"exit {probe.returncode}"
            if _NETWORK_ERROR.search(probe.stderr or ""):
                _UNREACHABLE[registry] = f"{last[-200:]}; {time.monotonic() - started:.1f} s"
                return f"registry {registry} unreachable ({_UNREACHABLE[registry]})"
            return f"not pullable from {registry} ({last[-200:]})"
        try:
            pulled = self._podman(["pull", "--quiet", name], timeout=self.pull_timeout)
        except subprocess.TimeoutExpired:
            return f"pull of {name} did not finish within {self.pull_timeout:.0f} s"
        if pulled.returncode != 0:
            return f"pull of {name} failed ({(pulled.stderr or '').strip()[-200:]})"
        return None

    # -- offline builds --------------------------------------------------------

    def build(self, recipe: Recipe) -> tuple[str, str]:
        """Build (or find) the image of a recipe; returns (its local name, its source text)."""
        key = recipe.key()
        built = f"{BUILT_REPOSITORY}/{recipe.short}:{key}"
        workdir = self.cache_dir / "images" / key
        with _file_lock(self.cache_dir / "images" / f"{key}.lock"):
            record = self.inspect([built]).get(built)
            if record is not None:
                labels = record.get("Labels") or {}
                return built, labels.get(LABEL_SOURCE, "built offline") + " (cached)"
            tarball, source_file = workdir / "rootfs.tar", workdir / "source.txt"
            if not (tarball.exists() and source_file.exists()):
                source = self._make_rootfs(recipe, workdir)
                source_file.write_text(source)
            source = source_file.read_text().strip()
            containerfile = workdir / "Containerfile"
            containerfile.write_text(_containerfile(recipe, source, key))
            self._podman(["build", "--layers=false", "--network", "none", "--pull=never",
                          "-f", str(containerfile), "-t", built, str(workdir)],
                         timeout=BUILD_TIMEOUT, check=True)
        return built, source

    def _make_rootfs(self, recipe: Recipe, workdir: Path) -> str:
        rootfs = workdir / "rootfs"
        safe_rmtree(rootfs)
        rootfs.mkdir(parents=True)
        try:
            method, spec = next(iter(recipe.rootfs.items()))
            if method == "debs":
                source = self._rootfs_from_debs(recipe, list(spec), rootfs, workdir)
            else:
                source = self._rootfs_debootstrap(recipe, dict(spec), rootfs)
            _apply_files(recipe, rootfs)
            partial = workdir / "rootfs.tar.part"
            _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."],
                 timeout=600, what=f"packing {recipe.repository}")
            partial.rename(workdir / "rootfs.tar")
            return source
        finally:
            safe_rmtree(rootfs)

    def _rootfs_from_debs(self, recipe: Recipe, packages: list[str], rootfs: Path, workdir: Path) -> str:
        downloads = workdir / "debs"
        shutil.rmtree(downloads, ignore_errors=True)
        downloads.mkdir(parents=True)
        os.chmod(downloads, 0o777)        # apt-get download drops to the _apt user
        if _which("apt-get") is None:
            raise ImageUnavailable(f"building {recipe.repository} offline needs apt-get (Debian packages)")
        try:
            _run(["apt-get", "download", "-q", *packages], timeout=300, cwd=downloads,
                 what=f"building {recipe.repository} offline (apt-get download {' '.join(packages)}; "
                      "run apt-get update if the package lists are missing)")
        except ImageUnavailable:
            # no mirror reachable: the same packages installed on this host will do
            installed = _copy_installed(packages, rootfs)
            if installed is None:
                raise
            shutil.rmtree(downloads, ignore_errors=True)
            return "built offline from this host's installed Debian packages: " + ", ".join(installed)
        versions = []
        for deb in sorted(downloads.glob("*.deb")):
            fields = _run(["dpkg-deb", "-f", str(deb), "Package", "Version"], timeout=60,
                          what=f"reading {deb.name}").stdout
            info = dict(line.split(": ", 1) for line in fields.splitlines() if ": " in line)
            versions.append(f"{info.get('Package', deb.name)} {info.get('Version', '?')}")
            _run(["dpkg-deb", "-x", str(deb), str(rootfs)], timeout=300, what=f"unpacking {deb.name}")
        shutil.rmtree(downloads, ignore_errors=True)
        return "built offline from Debian packages: " + ", ".join(versions)

    def _rootfs_debootstrap(self, recipe: Recipe, spec: dict[str, Any], rootfs: Path) -> str:
        suite = spec.get("suite") or "stable"
        variant = spec.get("variant") or "minbase"
        include = list(spec.get("include") or [])
        if _which("debootstrap") is None:
            raise ImageUnavailable(f"building {recipe.repository} offline needs debootstrap "
                                   "(apt-get install debootstrap, as root)")
        if os.geteuid() != 0:
            raise ImageUnavailable(f"building {recipe.repository} offline runs debootstrap, which needs root")
        argv = [_which("debootstrap") or "debootstrap", f"--variant={variant}"]
        if include:
            argv.append("--include=" + ",".join(include))
        argv += [suite, str(rootfs)]
        mirror = debian_mirror(suite, self._apt_root)
        if mirror:
            argv.append(mirror)
        _run(argv, timeout=BUILD_TIMEOUT, what=f"building {recipe.repository} offline (debootstrap {suite})")
        # what an image does not carry: downloaded packages, package lists, device nodes
        for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*", "dev/*"):
            for entry in glob.glob(str(rootfs / pattern)):
                if os.path.isdir(entry) and not os.path.islink(entry):
                    safe_rmtree(Path(entry))
                else:
                    os.unlink(entry)
        versions = _dpkg_versions(rootfs / "var/lib/dpkg/status", include)
        packages = ", ".join(f"{p} {versions.get(p, '?')}" for p in include)
        return f"built offline: debootstrap {suite} ({variant})" + (f" with {packages}" if packages else "")

    # -- pause -----------------------------------------------------------------

    @staticmethod
    def pause_name() -> str:
        """The pause image's name: it changes with pause.c."""
        key = hashlib.sha256(PAUSE_SOURCE.read_bytes() + str(BUILD_FORMAT).encode()).hexdigest()[:12]
        return f"{PAUSE_REPOSITORY}:{key}"

    def ensure_pause(self) -> str:
        """The pod sandbox image (compiled pause.c); returns its name."""
        source = PAUSE_SOURCE.read_bytes()
        name = self.pause_name()
        key = name.rsplit(":", 1)[1]
        if name in self._ready:
            return name
        description = "built offline: conformance/runtime/pause.c, gcc -static"
        if not self.exists(name):
            workdir = self.cache_dir / "images" / f"pause-{key}"
            with _file_lock(self.cache_dir / "images" / f"pause-{key}.lock"):
                if not self.exists(name):
                    self._build_pause(source, workdir, name, description)
            description += " (just built)"
        else:
            description += " (cached)"
        self._ready[name] = f"{name}: {description}"
        self.used["pause (pod sandbox)"] = ImageInfo("pause (pod sandbox)", self._ready[name])
        return name

    def _build_pause(self, source: bytes, workdir: Path, name: str, description: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        binary = workdir / "pause"
        if not binary.exists():
            gcc = _which("gcc") or _which("cc")
            if gcc is None:
                raise RuntimeUnavailable("the pod sandbox's pause program needs a C compiler: "
                                         "apt-get install gcc libc6-dev (as root)")
            (workdir / "pause.c").write_bytes(source)
            try:
                _run([gcc, "-static", "-Os", "-s", "-o", str(workdir / "pause.part"), str(workdir / "pause.c")],
                     timeout=120, what="compiling pause.c")
            except ImageUnavailable as err:
                raise RuntimeUnavailable(f"{err} (static linking needs libc6-dev: apt-get install "
                                         f"gcc libc6-dev)\n{err.diagnostics}") from None
            (workdir / "pause.part").rename(binary)
        archive = workdir / "pause.tar"
        with tarfile.open(archive, "w") as tar:
            info = tar.gettarinfo(str(binary), arcname="pause")
            info.mode, info.uid, info.gid, info.uname, info.gname = 0o755, 0, 0, "root", "root"
            with open(binary, "rb") as handle:
                tar.addfile(info, handle)
        self._podman(["import", "--change", 'CMD ["/pause"]',
                      "--change", f"LABEL {LABEL_SOURCE}={json.dumps(description)}",
                      str(archive), name], timeout=120, check=True)


def _copy_installed(packages: list[str], rootfs: Path) -> list[str] | None:
    """Copy the files of packages installed on this host into rootfs; None if one is missing."""
    found = []
    for package in packages:
        query = subprocess.run(["dpkg-query", "-W", "-f", "${Status}\t${Version}", package], capture_output=True,
                               text=True, timeout=30, check=False)
        status, _, version = query.stdout.partition("\t")
        if query.returncode != 0 or not status.endswith(" installed"):
            return None
        files = subprocess.run(["dpkg-query", "-L", package], capture_output=True, text=True, timeout=30,
                               check=False).stdout.splitlines()
        for name in files:
            source = Path(name)
            if not name.startswith("/") or source.is_dir():     # directories come with their files
                continue
            target = _inside(rootfs, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                os.symlink(os.readlink(source), target)
            elif source.is_file():
                shutil.copy2(source, target)
        found.append(f"{package} {version}")
    return found


def _dpkg_versions(status: Path, packages: list[str]) -> dict[str, str]:
    versions: dict[str, str] = {}
    try:
        text = status.read_text(errors="replace")
    except OSError:
        return versions
    for stanza in text.split("\n\n"):
        m_name = re.search(r"^Package: (\S+)$", stanza, re.MULTILINE)
        m_version = re.search(r"^Version: (\S+)$", stanza, re.MULTILINE)
        if m_name and m_version and m_name.group(1) in packages:
            versions[m_name.group(1)] = m_version.group(1)
    return versions


def _apply_files(recipe: Recipe, rootfs: Path) -> None:
    for path, mode in recipe.dirs.items():
        target = _inside(rootfs, path)
        target.mkdir(parents=True, exist_ok=True)
        os.chmod(target, int(str(mode), 8))
    for path, spec in recipe.files.items():
        target = _inside(rootfs, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        if isinstance(spec, str):
            spec = {"content": spec}
        if "symlink" in spec:
            os.symlink(spec["symlink"], target)
            continue
        target.write_text(spec.get("content", ""))
        os.chmod(target, int(str(spec.get("mode", "0644")), 8))


def _containerfile(recipe: Recipe, source: str, key: str) -> str:
    config = recipe.config
    lines = ["FROM scratch", "ADD rootfs.tar /"]
    for argv in recipe.run:
        lines.append("RUN " + json.dumps(argv))
    for env in config.get("env") or []:
        k, _, v = str(env).partition("=")
        lines.append(f"ENV {k}={json.dumps(v)}")
    if config.get("workdir"):
        lines.append(f"WORKDIR {config['workdir']}")
    if config.get("user"):
        lines.append(f"USER {config['user']}")
    for port in config.get("expose") or []:
        lines.append(f"EXPOSE {port}")
    if config.get("stopsignal"):
        lines.append(f"STOPSIGNAL {config['stopsignal']}")
    lines.append(f"LABEL {LABEL_SOURCE}={json.dumps(source)} {LABEL_RECIPE}={json.dumps(key)}")
    if config.get("entrypoint"):
        lines.append("ENTRYPOINT " + json.dumps(config["entrypoint"]))
    if config.get("cmd"):
        lines.append("CMD " + json.dumps(config["cmd"]))
    return "\n".join(lines) + "\n"
