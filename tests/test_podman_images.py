"""The podman runtime's pure parts: image names, apt mirrors, offline recipes, config files.

Nothing here needs podman; the tests that do are in test_podman_runtime.py.
"""
from __future__ import annotations

import os
import resource
import shutil
from pathlib import Path

import pytest

from conformance.runtime.images import (
    DATA_FILE,
    Recipe,
    _containerfile,
    _copy_installed,
    apt_sources,
    debian_mirror,
    load_recipes,
    manifest_images,
    normalize_image,
    parse_image,
)
from conformance.runtime.podman import (
    PODMAN_DEFAULT_ULIMITS,
    _expected_pods,
    _play_output,
    containers_conf,
    default_cache_dir,
    host_hard_limits,
    initial_ulimits,
    lower_ulimit,
    registries_conf,
    short_runroot,
    storage_conf,
)

# --- image names -------------------------------------------------------------------------------


@pytest.mark.parametrize("reference, normalized", [
    ("nginx", "docker.io/library/nginx:latest"),
    ("nginx:1.14.2", "docker.io/library/nginx:1.14.2"),
    ("busybox:1.28", "docker.io/library/busybox:1.28"),
    ("library/nginx", "docker.io/library/nginx:latest"),
    ("docker.io/nginx", "docker.io/library/nginx:latest"),
    ("index.docker.io/library/nginx:1.25", "docker.io/library/nginx:1.25"),
    ("someuser/app", "docker.io/someuser/app:latest"),
    ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"),
    ("registry.k8s.io/e2e-test-images/agnhost:2.39", "registry.k8s.io/e2e-test-images/agnhost:2.39"),
    ("localhost:5000/app", "localhost:5000/app:latest"),
    ("localhost/app:dev", "localhost/app:dev"),
    ("quay.io/org/app@sha256:" + "a" * 64, "quay.io/org/app@sha256:" + "a" * 64),
    ("nginx:1.25@sha256:" + "b" * 64, "docker.io/library/nginx:1.25@sha256:" + "b" * 64),
])
def test_normalize_image_like_kubernetes(reference, normalized):
    assert normalize_image(reference) == normalized


@pytest.mark.parametrize("reference", ["", "NGINX", "nginx:", "nginx:bad tag", "a b", "x@sha256:zz"])
def test_invalid_image_references(reference):
    with pytest.raises(ValueError):
        parse_image(reference)


def test_repository_of_a_tagged_reference():
    image = parse_image("nginx:1.14.2")
    assert image.repository == "docker.io/library/nginx"
    assert (image.registry, image.path, image.tag) == ("docker.io", "library/nginx", "1.14.2")


def test_manifest_images_covers_pods_templates_and_init_containers():
    docs = [
        {"kind": "Pod", "spec": {"initContainers": [{"name": "i", "image": "busybox:1.28"}],
                                 "containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "nginx"}]}},
        {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "app:1"}]}}}},
        {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "j", "image": "job:2"}]}}}}}},
        {"kind": "ConfigMap", "data": {"x": "y"}},
        None,
    ]
    assert manifest_images(docs) == ["busybox:1.28", "nginx", "app:1", "job:2"]


# --- apt mirror ---------------------------------------------------------------------------------

def _apt_root(tmp_path: Path, sources_list: str = "", lists: dict | None = None,
              sources: dict | None = None) -> Path:
    apt = tmp_path / "etc" / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list").write_text(sources_list)
    for name, text in (lists or {}).items():
        (apt / "sources.list.d" / name).write_text(text)
    for name, text in (sources or {}).items():
        (apt / "sources.list.d" / name).write_text(text)
    return tmp_path


def test_mirror_from_one_line_sources_list(tmp_path):
    root = _apt_root(tmp_path, "# comment\n"
                     "deb-src http://src.example.invalid/debian bookworm main\n"
                     "deb [arch=amd64 signed-by=/k.gpg] http://apt.example.invalid/debian/ bookworm main contrib\n"
                     "deb http://apt.example.invalid/debian-security bookworm-security main\n")
    assert debian_mirror("bookworm", root) == "http://apt.example.invalid/debian"
    assert debian_mirror("bookworm-security", root) == "http://apt.example.invalid/debian-security"
    assert debian_mirror("trixie", root) is None


def test_mirror_from_deb822_sources(tmp_path):
    root = _apt_root(tmp_path, sources={
        "a-disabled.sources": "Types: deb\nURIs: http://off.example.invalid/debian\nSuites: bookworm\n"
                              "Components: main\nEnabled: no\n",
        "debian.sources": "Types: deb\n# a snapshot, commented out\nURIs: http://apt.example.invalid/debian\n"
                          "Suites: bookworm bookworm-updates\nComponents: main\n\n"
                          "Types: deb\nURIs: http://apt.example.invalid/debian-security\n"
                          "Suites: bookworm-security\nComponents: main\n",
    })
    assert debian_mirror("bookworm", root) == "http://apt.example.invalid/debian"
    assert debian_mirror("bookworm-updates", root) == "http://apt.example.invalid/debian"
    assert debian_mirror("bookworm-security", root) == "http://apt.example.invalid/debian-security"


def test_mirror_ignores_files_apt_ignores_and_other_schemes(tmp_path):
    root = _apt_root(tmp_path, lists={
        "old.list.disabled": "deb http://off.example.invalid/debian bookworm main\n",
        "cd.list": "deb cdrom:[Debian]/ bookworm main\n",
    })
    assert debian_mirror("bookworm", root) is None


def test_mirror_on_this_host_comes_from_its_apt_configuration():
    sources = apt_sources()
    mirror = debian_mirror("bookworm")
    if mirror is None:
        assert not any("bookworm" in s.suites and "deb" in s.types for s in sources)
    else:
        assert any(mirror == uri.rstrip("/") for s in sources for uri in s.uris)


# --- offline recipes ----------------------------------------------------------------------------

def test_recipes_are_keyed_by_normalized_repository():
    recipes = load_recipes()
    assert {"docker.io/library/busybox", "docker.io/library/nginx"} <= set(recipes)
    for repository, recipe in recipes.items():
        assert parse_image(repository).repository == repository == recipe.repository
        assert recipe.config.get("cmd") or recipe.config.get("entrypoint")


def test_offline_recipes_look_like_the_official_images():
    recipes = load_recipes()
    busybox = recipes["docker.io/library/busybox"]
    assert busybox.config["cmd"] == ["sh"]
    users = {line.split(":")[0]: int(line.split(":")[2])
             for line in busybox.files["/etc/passwd"].splitlines()}
    assert users == {"root": 0, "daemon": 1, "bin": 2, "sys": 3, "sync": 4, "mail": 8, "www-data": 33,
                     "operator": 37, "nobody": 65534}
    assert "www-data:x:33:" in busybox.files["/etc/group"]
    nginx = recipes["docker.io/library/nginx"]
    assert nginx.config["cmd"] == ["nginx", "-g", "daemon off;"]
    assert nginx.rootfs["debootstrap"]["include"] == ["nginx"]


def test_recipe_key_changes_with_the_recipe():
    recipe = load_recipes()["docker.io/library/busybox"]
    same = Recipe(**vars(recipe))
    changed = Recipe(**{**vars(recipe), "run": [["/bin/busybox", "--install", "-s", "/bin"]]})
    assert recipe.key() == same.key() != changed.key()


def test_invalid_recipes_are_rejected(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("images:\n  x:\n    rootfs: {tarball: x.tar}\n")
    with pytest.raises(ValueError, match="rootfs"):
        load_recipes(bad)
    bad.write_text("images:\n  x:\n    rootfs: {debs: [a]}\n    run: ['sh -c echo']\n")
    with pytest.raises(ValueError, match="argv"):
        load_recipes(bad)
    bad.write_text("images:\n  x:\n    rootfs: {debs: [a]}\n    shell: yes\n")
    with pytest.raises(ValueError, match="unknown"):
        load_recipes(bad)


def test_containerfile_from_a_recipe():
    recipe = load_recipes()["docker.io/library/nginx"]
    text = _containerfile(recipe, "built offline: test", recipe.key())
    lines = text.splitlines()
    assert lines[:2] == ["FROM scratch", "ADD rootfs.tar /"]
    assert 'CMD ["nginx", "-g", "daemon off;"]' in lines
    assert "STOPSIGNAL SIGQUIT" in lines
    assert any(line.startswith("LABEL k8s-docs-conformance.source=") for line in lines)


def test_data_file_is_packaged_next_to_the_code():
    assert DATA_FILE.exists() and DATA_FILE.parent.name == "data"


# --- config files -------------------------------------------------------------------------------

def test_ulimits_never_exceed_the_hosts_hard_limits():
    hard = host_hard_limits()
    assert hard["nofile"] in (resource.getrlimit(resource.RLIMIT_NOFILE)[1], None)
    limits = initial_ulimits(hard)
    for name, value in limits.items():
        assert value <= PODMAN_DEFAULT_ULIMITS[name]
        assert hard[name] is None or value <= hard[name]
    assert initial_ulimits({"nofile": 20000, "nproc": None}) == {"nofile": 20000, "nproc": 1048576}


def test_lowering_a_limit_that_runc_refused():
    limits = {"nofile": 20000, "nproc": 96365}
    assert lower_ulimit(limits, resource.RLIMIT_NPROC)
    assert limits == {"nofile": 20000, "nproc": 65536}
    assert lower_ulimit(limits, resource.RLIMIT_NPROC) and limits["nproc"] == 32768
    assert not lower_ulimit(limits, resource.RLIMIT_CORE)       # podman sets no other limit
    tiny = {"nofile": 1024, "nproc": 1024}
    assert not lower_ulimit(tiny, resource.RLIMIT_NOFILE)


def test_containers_conf_is_valid_toml_with_what_was_detected(tmp_path):
    tomllib = pytest.importorskip("tomllib")       # Python 3.11+
    text = containers_conf(runtime="runc", runtime_path="/usr/sbin/runc",
                           ulimits={"nofile": 20000, "nproc": 32768}, cgroup_manager="cgroupfs",
                           tmp_dir=tmp_path / "run" / "libpod", network_dir=tmp_path / "networks",
                           infra_image="localhost/k8s-docs-conformance/pause:abc")
    conf = tomllib.loads(text)
    assert conf["containers"]["default_ulimits"] == ["nofile=20000:20000", "nproc=32768:32768"]
    engine = conf["engine"]
    assert engine["runtime"] == "runc"
    assert engine["runtimes"]["runc"] == ["/usr/sbin/runc"]
    assert engine["cgroup_manager"] == "cgroupfs"
    assert engine["events_logger"] == "file"
    assert engine["infra_image"] == "localhost/k8s-docs-conformance/pause:abc"
    assert engine["infra_command"] == "/pause"       # a string in podman 4.3's schema
    assert engine["tmp_dir"].startswith(str(tmp_path))
    assert conf["network"]["network_config_dir"] == str(tmp_path / "networks")


def test_storage_and_registries_conf_are_valid_toml(tmp_path):
    tomllib = pytest.importorskip("tomllib")
    storage = tomllib.loads(storage_conf(driver="overlay", graphroot=tmp_path / "g", runroot=tmp_path / "r"))
    assert storage["storage"] == {"driver": "overlay", "graphroot": str(tmp_path / "g"),
                                  "runroot": str(tmp_path / "r")}
    registries = tomllib.loads(registries_conf(["docker.io", "quay.io"]))
    assert registries["registry"] == [{"location": "docker.io", "blocked": True},
                                      {"location": "quay.io", "blocked": True}]


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("CONFORMANCE_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("CONFORMANCE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "k8s-docs-conformance"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "k8s-docs-conformance"


# --- what kube play is given and says ----------------------------------------------------------------

def test_expected_pods_of_a_manifest():
    docs = [{"kind": "Pod", "metadata": {"name": "nginx"},
             "spec": {"containers": [{"name": "nginx"}, {"name": "shell"}]}},
            {"kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "main"}]}}}},
            {"kind": "Service", "metadata": {"name": "svc"}, "spec": {}}]
    assert _expected_pods(docs) == {"nginx": ["nginx", "shell"], "web-pod-0": ["main"], "web-pod-1": ["main"]}


def test_kube_play_output_parsing():
    pod, c1, c2 = "a" * 64, "b" * 64, "c" * 64
    out = f"Pod:\n{pod}\nContainers:\n{c1}\n{c2}\n\nVolumes:\ndata\n"
    assert _play_output(out) == {"pod": [pod], "container": [c1, c2], "volume": ["data"]}
    noisy = f"Trying to pull docker.io/library/x...\nPod:\n{pod}\nContainer:\n{c1}\n"
    assert _play_output(noisy)["pod"] == [pod]


def test_runroot_is_short_enough_for_podman(tmp_path):
    assert short_runroot(Path("/root/.cache/k8s-docs-conformance"), "overlay") == \
        Path("/root/.cache/k8s-docs-conformance/run/overlay")
    deep = tmp_path / ("x" * 60) / "cache"
    runroot = short_runroot(deep, "overlay")
    assert len(str(runroot)) <= 50 and runroot.name == "overlay"
    assert short_runroot(deep, "overlay") == runroot != short_runroot(tmp_path / "other", "overlay")


def test_an_installed_package_can_stand_in_for_a_download(tmp_path):
    if shutil.which("dpkg-query") is None:
        pytest.skip("no dpkg on this machine")
    found = _copy_installed(["busybox-static"], tmp_path)
    if found is None:
        pytest.skip("busybox-static is not installed here")
    assert found[0].startswith("busybox-static ")
    assert (tmp_path / "bin" / "busybox").is_file() and os.access(tmp_path / "bin" / "busybox", os.X_OK)
    assert _copy_installed(["no-such-package-here"], tmp_path / "x") is None


def test_one_recipe_can_stand_for_the_same_image_under_another_name():
    recipes = load_recipes()
    # registry.k8s.io/busybox (the website's newer pages) is the busybox recipe, not a copy of it
    assert recipes["registry.k8s.io/busybox"].rootfs == recipes["docker.io/library/busybox"].rootfs
    assert recipes["registry.k8s.io/busybox"].files == recipes["docker.io/library/busybox"].files
    assert recipes["registry.k8s.io/busybox"].short == "busybox"
    # the Debian-packaged tools the website's task pages run, each in a minimal Debian system
    for repository, package in [("docker.io/library/redis", "redis-server"), ("docker.io/polinux/stress", "stress"),
                                ("docker.io/library/perl", "perl")]:
        assert recipes[repository].rootfs["debootstrap"]["include"] == [package]


def test_offline_busybox_has_printenv_like_the_official_image(tmp_path):
    """Debian's busybox-static has no printenv applet; the recipe's script behaves like it."""
    import subprocess
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox is not installed here")
    entry = load_recipes()["docker.io/library/busybox"].files["/bin/printenv"]
    assert entry["mode"] == "0755"
    script = tmp_path / "printenv"
    script.write_text(entry["content"])

    def printenv(*names):
        return subprocess.run([busybox, "sh", str(script), *names], env={"GREETING": "hello world", "N": "1"},
                              capture_output=True, text=True, check=False)
    assert printenv("GREETING", "N").stdout == "hello world\n1\n" and printenv("GREETING").returncode == 0
    assert printenv("MISSING", "N").stdout == "1\n" and printenv("MISSING").returncode == 1
    assert printenv("$(touch x)").returncode == 1 and not (tmp_path / "x").exists()
    assert "GREETING=hello world" in printenv().stdout.splitlines()
