"""The copy of a page's manifest that podman plays (podman_manifest.prepare), without podman."""
from __future__ import annotations

import base64
import json
import os
import re
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from conformance.runtime import RuntimeLimit, StepError, podman_volumes
from conformance.runtime.podman_kubelet import NODE_NAME, Hook, network_failure
from conformance.runtime.podman_manifest import ALLOWED_CAPABILITIES, kubectl_config_file, prepare
from conformance.runtime.podman_volumes import go_quote

P = "ns1"


def pod(name="web", containers=None, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": containers or [{"name": "main", "image": "busybox"}], **spec}}


def docs(text: str) -> list:
    return [d for d in yaml.safe_load_all(text) if d]


def without_service_env(spec: dict) -> dict:
    """The spec without the `kubernetes` Service env the played copy adds to every container."""
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            container["env"] = [e for e in container.get("env", []) if not e["name"].startswith("KUBERNETES_")]
            if not container["env"]:
                del container["env"]
    return spec


def played(play, kind="Pod") -> dict:
    return next(d for d in play.documents if d["kind"] == kind)


def test_ports_are_dropped_and_said(tmp_path):
    play = prepare([pod(containers=[{"name": "main", "image": "nginx",
                                     "ports": [{"containerPort": 80, "hostPort": 8080}]}])], tmp_path / "node", P)
    assert "ports" not in played(play)["spec"]["containers"][0]
    assert any("80 (hostPort 8080) not published" in n for n in play.notes)


def test_hostpath_becomes_a_folder_of_the_work_folder(tmp_path):
    node = tmp_path / "node"
    spec = {"volumes": [{"name": "root", "hostPath": {"path": "/"}},
                        {"name": "etc", "hostPath": {"path": "/etc/../etc/app", "type": "Directory"}},
                        {"name": "f", "hostPath": {"path": "/var/log/app.log", "type": "FileOrCreate"}}]}
    play = prepare([pod(**spec)], node, P)
    volumes = {v["name"]: v["hostPath"] for v in played(play)["spec"]["volumes"]}
    assert volumes["root"] == {"path": str(node.resolve()), "type": "Directory"}
    assert volumes["etc"] == {"path": str(node.resolve() / "etc/app"), "type": "Directory"}
    assert (node / "etc/app").is_dir()
    assert volumes["f"] == {"path": str(node.resolve() / "var/log/app.log"), "type": "File"}
    assert (node / "var/log/app.log").is_file()
    assert all(Path(v["path"]).resolve().is_relative_to(node.resolve()) for v in volumes.values())
    assert any("hostPath /etc/../etc/app" in n and "work folder" in n for n in play.notes)


def test_a_hostpath_through_a_symlink_a_pod_made_is_refused(tmp_path):
    node = tmp_path / "node"
    node.mkdir()
    (node / "escape").symlink_to("/etc")
    with pytest.raises(RuntimeLimit, match="symbolic link"):
        prepare([pod(volumes=[{"name": "v", "hostPath": {"path": "/escape/x"}}])], node, P)


@pytest.mark.parametrize("kind", ["Socket", "CharDevice", "BlockDevice"])
def test_host_devices_and_sockets_are_refused(tmp_path, kind):
    with pytest.raises(RuntimeLimit, match=f"host {kind}.*--runtime kind"):
        prepare([pod(volumes=[{"name": "v", "hostPath": {"path": "/dev/x", "type": kind}}])], tmp_path, P)


@pytest.mark.parametrize("spec, why", [
    ({"hostPID": True}, "hostPID: true would share the host's PID namespace"),
    ({"hostNetwork": True}, "host's NETWORK namespace"),
    ({"hostIPC": True}, "host's IPC namespace"),
    ({"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]}, "privileged"),
    ({"containers": [{"name": "c", "image": "busybox", "securityContext": {"procMount": "Unmasked"}}]},
     "unmasked /proc"),
    ({"containers": [{"name": "c", "image": "busybox", "volumeDevices": [{"name": "b", "devicePath": "/dev/b"}]}]},
     "raw block devices"),
    ({"initContainers": [{"name": "i", "image": "busybox",
                          "securityContext": {"capabilities": {"add": ["CAP_SYS_ADMIN"]}}}]}, "SYS_ADMIN"),
    ({"containers": [{"name": "c", "image": "busybox",
                      "securityContext": {"capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]}}}]}, "adds capabilities SYS_TIME,"),
])
def test_host_access_is_a_runtime_limit(tmp_path, spec, why):
    manifest = pod("refused", **spec)
    if "containers" in spec:
        manifest["spec"]["containers"] = spec["containers"]
    with pytest.raises(RuntimeLimit) as err:
        prepare([manifest], tmp_path, P)
    assert why in err.value.reason and "runs on --runtime kind" in err.value.reason
    assert err.value.pods == ("refused",) and err.value.objects == ("refused",)


def test_capabilities_acting_inside_the_pod_are_allowed(tmp_path):
    context = {"capabilities": {"add": ["NET_ADMIN", "SYS_PTRACE", "net_raw"]}, "allowPrivilegeEscalation": True}
    play = prepare([pod(containers=[{"name": "c", "image": "busybox", "securityContext": context}])], tmp_path, P)
    assert played(play)["spec"]["containers"][0]["securityContext"] == context
    assert {"SYS_ADMIN", "SYS_TIME", "SYS_MODULE", "ALL"}.isdisjoint(ALLOWED_CAPABILITIES)


def test_a_job_plays_as_a_pod_of_its_template(tmp_path):
    job = docs("""
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  backoffLimit: 4
  template:
    metadata: {labels: {app: pi}}
    spec:
      restartPolicy: OnFailure
      containers: [{name: pi, image: perl, command: [perl, -e, "print 1"]}]
""")
    play = prepare(job, tmp_path, P)
    assert [d["kind"] for d in play.documents] == ["Pod"]
    assert played(play)["metadata"] == {"name": "pi", "labels": {"app": "pi", "job-name": "pi"}}
    assert played(play)["spec"]["restartPolicy"] == "OnFailure"
    assert play.pods == {"pi": ["pi"]}
    assert any("Job 'pi' plays as one Pod" in n for n in play.notes)


def test_a_kind_podman_cannot_play_alone_is_a_runtime_limit(tmp_path):
    cron = docs("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: hello}\nspec: {schedule: '* * * * *'}\n")
    with pytest.raises(RuntimeLimit, match=r"cannot create a CronJob \(hello\); runs on --runtime kind") as err:
        prepare(cron, tmp_path, P)
    assert err.value.objects == ("hello",) and err.value.pods == ()


def test_a_mix_plays_what_it_can_and_says_what_it_left_out(tmp_path):
    mix = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}}, pod("web"),
           {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}}]
    play = prepare(mix, tmp_path, P)
    assert [d["kind"] for d in play.documents] == ["Pod"]
    assert any("left out" in n and "a Service (svc), a StatefulSet (db)" in n for n in play.notes)


def test_deployments_play_with_podmans_pod_names(tmp_path):
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"replicas": 2, "template": {"spec": {"containers": [
                      {"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}]}]}}}}
    play = prepare([deployment], tmp_path, P)
    assert play.pods == {"web-pod-0": ["nginx"], "web-pod-1": ["nginx"]}
    assert "ports" not in play.documents[0]["spec"]["template"]["spec"]["containers"][0]


def test_secrets_play_as_configmaps_under_names_of_the_namespace(tmp_path):
    text = """
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {password: cHcxMjM=}
stringData: {user: admin}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: creds}
data: {lives: 3}
---
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  volumes: [{name: s, secret: {secretName: creds, defaultMode: 256}}, {name: c, configMap: {name: creds}}]
  containers:
  - name: main
    image: busybox
    env:
    - {name: P, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: L, valueFrom: {configMapKeyRef: {name: creds, key: lives}}}
    envFrom: [{secretRef: {name: creds}}]
"""
    play = prepare(docs(text), tmp_path, P)
    maps = {d["metadata"]["name"]: d["data"] for d in play.documents if d["kind"] == "ConfigMap"}
    assert maps == {"ns1_secret_creds": {"password": "pw123", "user": "admin"}, "ns1_creds": {"lives": "3"}}
    assert "Secret" not in [d["kind"] for d in play.documents]
    spec = played(play)["spec"]
    assert spec["volumes"][0] == {"name": "s", "configMap": {"name": "ns1_secret_creds", "defaultMode": 256}}
    assert spec["volumes"][1] == {"name": "c", "configMap": {"name": "ns1_creds"}}
    env = [e for e in spec["containers"][0]["env"] if not e["name"].startswith("KUBERNETES_")]
    assert env[0]["valueFrom"] == {"configMapKeyRef": {"name": "ns1_secret_creds", "key": "password"}}
    assert env[1]["valueFrom"] == {"configMapKeyRef": {"name": "ns1_creds", "key": "lives"}}
    assert spec["containers"][0]["envFrom"] == [{"configMapRef": {"name": "ns1_secret_creds"}}]
    assert play.volumes == {"ns1_secret_creds", "ns1_creds"}


def test_configmaps_of_earlier_steps_are_played_along_and_unknown_ones_are_a_limit(tmp_path):
    kept = prepare(docs("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: game}\ndata: {a: b}\n"), tmp_path, P)
    assert kept.documents == [] and list(kept.configs) == ["ns1_game"]
    user = pod(volumes=[{"name": "g", "configMap": {"name": "game"}}])
    play = prepare([user], tmp_path, P, known=kept.configs)
    assert [d["kind"] for d in play.documents] == ["ConfigMap", "Pod"]
    with pytest.raises(RuntimeLimit, match="ConfigMap 'game', which no step"):
        prepare([user], tmp_path, P)
    optional = pod(volumes=[{"name": "g", "configMap": {"name": "nope", "optional": True}}])
    assert prepare([optional], tmp_path, P).pods == {"web": ["main"]}


def test_volume_types_podman_cannot_mount_are_a_limit(tmp_path):
    with pytest.raises(RuntimeLimit, match="'share' is a nfs volume"):
        prepare([pod(volumes=[{"name": "share", "nfs": {"server": "nfs", "path": "/"}}])], tmp_path, P)


def test_emptydir_is_kubelets_folder_with_the_fsgroup(tmp_path):
    spec = {"securityContext": {"runAsUser": 1000, "fsGroup": 2000},
            "volumes": [{"name": "data", "emptyDir": {}}, {"name": "mem", "emptyDir": {"medium": "Memory"}}]}
    play = prepare([pod(**spec)], tmp_path / "node", P)
    volumes = {v["name"]: v for v in played(play)["spec"]["volumes"]}
    folder = Path(volumes["data"]["hostPath"]["path"])
    assert folder.is_relative_to((tmp_path / "emptydir").resolve())
    assert oct(folder.stat().st_mode & 0o7777) == oct(0o2777)
    if os.geteuid() == 0:
        assert folder.stat().st_gid == 2000
    assert volumes["mem"] == {"name": "mem", "emptyDir": {"medium": "Memory"}}


def test_what_the_page_keeps_is_played_unchanged(tmp_path):
    container = {"name": "main", "image": "busybox", "command": ["sh", "-c"], "args": ["echo $A"],
                 "env": [{"name": "A", "value": "1"}, {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                 "resources": {"limits": {"memory": "64Mi"}}, "securityContext": {"runAsUser": 1000, "runAsGroup": 3000}}
    spec = {"restartPolicy": "Never", "initContainers": [{"name": "init", "image": "busybox"}],
            "containers": [container], "securityContext": {"fsGroup": 2000}}
    original = json.loads(json.dumps(pod(**spec)))
    play = prepare([original], tmp_path, P)
    assert without_service_env(played(play)["spec"]) == pod(**spec)["spec"]
    assert play.notes == []


def test_kubectl_create_configmap_and_secret_from_literals(tmp_path):
    path = kubectl_config_file(["kubectl", "create", "configmap", "special", "--from-literal=how=very",
                                "--from-literal=type=charm"], tmp_path)
    assert json.loads(path.read_text())["data"] == {"how": "very", "type": "charm"}
    path = kubectl_config_file(["kubectl", "create", "secret", "generic", "s", "--from-literal=password=a=b"], tmp_path)
    assert json.loads(path.read_text())["stringData"] == {"password": "a=b"}
    assert kubectl_config_file(["kubectl", "create", "configmap", "g", "--from-file=x.properties"], tmp_path) is None
    assert kubectl_config_file(["kubectl", "create", "secret", "docker-registry", "r"], tmp_path) is None
    assert kubectl_config_file(["kubectl", "get", "configmap", "special"], tmp_path) is None


# --- what the kubelet does and kube play does not (podman_kubelet) ----------------------------------

def env_of(play, index=0) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in played(play)["spec"]["containers"][index]["env"]}


def test_downward_api_fields_podman_cannot_resolve_get_the_values_the_runtime_stands_for(tmp_path):
    paths = ["spec.nodeName", "status.hostIP", "status.podIP", "status.podIPs", "spec.serviceAccountName",
             "metadata.namespace", "metadata.name", "metadata.labels['app']"]
    container = {"name": "main", "image": "busybox",
                 "env": [{"name": f"V{i}", "valueFrom": {"fieldRef": {"fieldPath": p}}} for i, p in enumerate(paths)]}
    play = prepare([pod(containers=[container])], tmp_path, P)
    env = env_of(play)
    assert [env[f"V{i}"] for i in range(5)] == [NODE_NAME, "127.0.0.1", "127.0.0.1", "127.0.0.1", "default"]
    assert env["V5"] == "default"
    assert env["V6"] == {"fieldRef": {"fieldPath": "metadata.name"}}          # podman resolves these
    assert env["V7"] == {"fieldRef": {"fieldPath": "metadata.labels['app']"}}
    assert any("spec.nodeName" in n and NODE_NAME in n for n in play.notes)
    assert any("status.hostIP" in n and "loopback only" in n for n in play.notes)
    named = pod(containers=[container], serviceAccountName="reader", nodeName="worker-1")
    named["metadata"]["namespace"] = "team"
    env = env_of(prepare([named], tmp_path, P))
    assert (env["V0"], env["V4"], env["V5"]) == ("worker-1", "reader", "team")


def test_the_kubernetes_service_env_is_set_as_the_kubelet_does_unless_the_container_sets_it(tmp_path):
    container = {"name": "main", "image": "debian", "command": ["printenv"], "args": ["KUBERNETES_PORT"],
                 "env": [{"name": "KUBERNETES_SERVICE_PORT", "value": "6443"}]}
    play = prepare([pod(containers=[container], initContainers=[{"name": "init", "image": "busybox"}])],
                   tmp_path, P)
    env = env_of(play)
    assert env["KUBERNETES_PORT"] == "tcp://10.96.0.1:443" and env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "6443"
    assert [e["name"] for e in played(play)["spec"]["containers"][0]["env"]].count("KUBERNETES_SERVICE_PORT") == 1
    assert "KUBERNETES_PORT" in {e["name"] for e in played(play)["spec"]["initContainers"][0]["env"]}
    assert any("`kubernetes` Service" in n for n in play.notes)      # the page looks at it


def test_lifecycle_hooks_are_taken_out_for_the_runtime_to_run(tmp_path):
    lifecycle = {"postStart": {"exec": {"command": ["/bin/sh", "-c", "echo hi > /m"]}},
                 "preStop": {"sleep": {"seconds": 2}}}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"replicas": 2, "template": {"spec": {"containers": [
                      {"name": "web", "image": "nginx", "lifecycle": lifecycle}]}}}}
    play = prepare([deployment], tmp_path, P)
    assert "lifecycle" not in played(play, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert set(play.hooks) == {"d-pod-0", "d-pod-1"}
    hooks = play.hooks["d-pod-0"]["web"]
    assert hooks["postStart"] == Hook("postStart", "exec", ("/bin/sh", "-c", "echo hi > /m"))
    assert hooks["preStop"] == Hook("preStop", "sleep", seconds=2.0)
    assert any("postStart hook" in n and "run by the suite" in n for n in play.notes)


@pytest.mark.parametrize("handler", [{"httpGet": {"path": "/", "port": 80}}, {"tcpSocket": {"port": 80}}])
def test_hooks_the_kubelet_sends_over_the_pod_network_are_a_limit(tmp_path, handler):
    container = {"name": "web", "image": "nginx", "lifecycle": {"preStop": handler}}
    with pytest.raises(RuntimeLimit, match=f"preStop hook is a {next(iter(handler))} request.*loopback only") as err:
        prepare([pod(containers=[container])], tmp_path, P)
    assert err.value.pods == ("web",)


@pytest.mark.parametrize("output", [
    "Connecting to info.cern.ch (188.184.67.127:80)\nwget: bad address 'info.cern.ch'",
    "curl: (6) Could not resolve host: example.com",
    "wget: unable to resolve host address 'example.com'",
    "Temporary failure resolving 'deb.debian.org'",
    "ping: sendto: Network is unreachable",
    "dial tcp: lookup example.com on 10.96.0.10:53: no such host",
    "curl: (7) Failed to connect to 93.184.216.34 port 80: Connection refused",
])
def test_output_that_says_the_pod_had_no_network_is_recognised(output):
    assert network_failure(output) == output.splitlines()[-1]


@pytest.mark.parametrize("output", [
    "wget: can't connect to remote host (127.0.0.1): Connection refused",
    "curl: (7) Failed to connect to localhost port 8080: Connection refused",
    "sh: connect: Connection refused",
    "cat: /usr/share/message: No such file or directory",
])
def test_other_failures_are_not_taken_for_a_missing_network(output):
    assert network_failure(output) is None


def test_a_key_the_secret_does_not_have_is_a_fail_in_kubernetes_words(tmp_path):
    secret = prepare(docs("apiVersion: v1\nkind: Secret\nmetadata: {name: backend-user}\n"
                          "stringData: {backend-username: backend-admin}\n"), tmp_path, P)
    env = [{"name": "SECRET_USERNAME", "valueFrom": {"secretKeyRef": {"name": "backend-user", "key": "username"}}}]
    user = pod(containers=[{"name": "main", "image": "nginx", "env": env}])
    with pytest.raises(StepError, match=r"env SECRET_USERNAME takes key 'username' of Secret 'backend-user', which "
                                        r"has no such key \(its keys: backend-username\)"):
        prepare([user], tmp_path, P, known=secret.configs)
    env[0]["valueFrom"]["secretKeyRef"]["key"] = "backend-username"
    assert prepare([user], tmp_path, P, known=secret.configs).pods == {"web": ["main"]}
    env[0]["valueFrom"]["secretKeyRef"].update(key="username", optional=True)
    assert prepare([user], tmp_path, P, known=secret.configs).pods == {"web": ["main"]}


def test_a_document_without_apiversion_is_refused_as_kubectl_does(tmp_path):
    no_version = pod()
    del no_version["apiVersion"]
    with pytest.raises(StepError, match="Pod 'web' has no apiVersion: kubectl refuses the file"):
        prepare([no_version], tmp_path, P)


# --- downwardAPI and projected volumes: files the suite writes as the kubelet does ---------------

def volume_folder(play, name: str) -> Path:
    volume = next(v for v in played(play)["spec"]["volumes"] if v["name"] == name)
    assert set(volume) == {"name", "hostPath"} and volume["hostPath"]["type"] == "Directory"
    return Path(volume["hostPath"]["path"])


DAPI_POD = """
apiVersion: v1
kind: Pod
metadata:
  name: info
  labels: {zone: us-est-coast, cluster: test-cluster1, rack: rack-22}
  annotations: {build: two, note: "say \\"hi\\"\\n\\tback\\\\slash é"}
spec:
  containers:
  - name: main
    image: busybox
    volumeMounts: [{name: podinfo, mountPath: /etc/podinfo}]
  volumes:
  - name: podinfo
    downwardAPI:
      defaultMode: 0600
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
      - {path: meta/name, fieldRef: {fieldPath: metadata.name}, mode: 0444}
      - {path: meta/namespace, fieldRef: {fieldPath: metadata.namespace}}
      - {path: meta/uid, fieldRef: {fieldPath: metadata.uid}}
      - {path: zone, fieldRef: {fieldPath: "metadata.labels['zone']"}}
"""


def test_downward_api_files_hold_what_the_kubelet_writes(tmp_path):
    play = prepare(docs(DAPI_POD), tmp_path / "node", P)
    folder = volume_folder(play, "podinfo")
    assert folder.is_relative_to((tmp_path / "volumes" / "info").resolve())
    # labels: key="value" per line, sorted, no newline at the end (fieldpath.FormatMap)
    assert (folder / "labels").read_text() == 'cluster="test-cluster1"\nrack="rack-22"\nzone="us-est-coast"'
    lines = (folder / "annotations").read_text().split("\n")
    assert lines[0] == 'build="two"'
    assert lines[1].startswith('kubernetes.io/config.seen="') and lines[2] == 'kubernetes.io/config.source="api"'
    assert lines[3] == r'note="say \"hi\"\n\tback\\slash é"'             # Go's %q
    assert (folder / "meta/name").read_text() == "info"
    assert (folder / "meta/namespace").read_text() == "default"
    assert len((folder / "meta/uid").read_text()) == 36
    assert (folder / "zone").read_text() == "us-est-coast"                  # a subscript is the bare value
    # the kubelet's layout: ..data links to the timestamped folder, each top-level name through ..data
    assert os.readlink(folder / "..data").startswith("..") and (folder / "..data").is_dir()
    assert {p.name: os.readlink(p) for p in folder.iterdir() if p.is_symlink() and p.name != "..data"} == {
        "labels": "..data/labels", "annotations": "..data/annotations", "meta": "..data/meta", "zone": "..data/zone"}
    assert oct((folder / "labels").stat().st_mode & 0o777) == oct(0o600)      # defaultMode
    assert oct((folder / "meta/name").stat().st_mode & 0o777) == oct(0o444)   # the item's mode
    mounts = played(play)["spec"]["containers"][0]["volumeMounts"]
    assert mounts == [{"name": "podinfo", "mountPath": "/etc/podinfo", "readOnly": True}]
    assert any("metadata.uid in a downwardAPI file is" in n and "stand-in" in n for n in play.notes)
    assert any("'podinfo': files written by the suite" in n for n in play.notes)


def test_a_pod_played_again_gets_fresh_files(tmp_path):
    first = volume_folder(prepare(docs(DAPI_POD), tmp_path / "node", P), "podinfo")
    assert (first / "labels").read_text().startswith("cluster=")
    changed = docs(DAPI_POD)
    changed[0]["metadata"]["labels"] = {"tier": "web"}
    again = volume_folder(prepare(changed, tmp_path / "node", P), "podinfo")
    assert (again / "labels").read_text() == 'tier="web"'
    assert len([p for p in again.iterdir() if p.name.startswith("..2")]) == 1


def resources_pod(resources: dict, items: list) -> dict:
    return pod(name="res", containers=[{"name": "main", "image": "busybox", "resources": resources}],
               volumes=[{"name": "podinfo", "downwardAPI": {"items": items}}])


def res_item(path, resource, divisor=None):
    ref = {"containerName": "main", "resource": resource, **({"divisor": divisor} if divisor else {})}
    return {"path": path, "resourceFieldRef": ref}


def test_resource_field_refs_are_divided_and_rounded_up_as_the_kubelet_does(tmp_path, monkeypatch):
    monkeypatch.setattr(podman_volumes, "node_allocatable",
                        lambda work=None: {"cpu": Fraction(4), "memory": Fraction(8 * 2**30),
                                           "ephemeral-storage": Fraction(10**11)})
    items = [res_item("cpu_limit", "limits.cpu", "1m"), res_item("cpu_request", "requests.cpu", "1m"),
             res_item("mem_limit", "limits.memory", "1Mi"), res_item("mem_request", "requests.memory", "1Mi"),
             res_item("cpu_cores", "limits.cpu"), res_item("mem_bytes", "limits.memory"),
             res_item("disk", "limits.ephemeral-storage", "1G"), res_item("disk_request", "requests.ephemeral-storage")]
    resources = {"requests": {"memory": "32Mi", "cpu": "125m"}, "limits": {"memory": "64Mi", "cpu": "250m"}}
    play = prepare([resources_pod(resources, items)], tmp_path / "node", P)
    folder = volume_folder(play, "podinfo")
    values = {p: (folder / p).read_text() for p in ("cpu_limit", "cpu_request", "mem_limit", "mem_request",
                                                     "cpu_cores", "mem_bytes", "disk", "disk_request")}
    assert values == {"cpu_limit": "250", "cpu_request": "125", "mem_limit": "64", "mem_request": "32",
                      "cpu_cores": "1", "mem_bytes": str(64 * 2**20), "disk": "100", "disk_request": "0"}
    assert any("sets no limits.ephemeral-storage" in n and "node's allocatable" in n for n in play.notes)
    # no limit: the node's allocatable; no request: the limit (API server default), else 0
    play = prepare([resources_pod({"limits": {"cpu": "1.5"}}, [
        res_item("cpu", "requests.cpu", "1m"), res_item("mem", "limits.memory", "1Gi"),
        res_item("memreq", "requests.memory"), res_item("cpus", "limits.cpu")])], tmp_path / "node", P)
    folder = volume_folder(play, "podinfo")
    assert [(folder / p).read_text() for p in ("cpu", "mem", "memreq", "cpus")] == ["1500", "8", "0", "2"]
    assert any("sets no limits.memory" in n and "8589934592 bytes of memory" in n for n in play.notes)


@pytest.mark.parametrize("path, why", [("../escape", "must not contain '..'"), ("a/../../b", "must not contain '..'"),
                                       ("/etc/passwd", "must be a relative path"),
                                       ("..data", "must not start with '..'")])
def test_item_paths_reaching_out_are_refused_as_the_api_server_does(tmp_path, path, why):
    spec = pod(volumes=[{"name": "v", "downwardAPI": {"items": [
        {"path": path, "fieldRef": {"fieldPath": "metadata.name"}}]}}])
    with pytest.raises(StepError, match=rf'The Pod \'web\' is invalid: spec.volumes\[0\].downwardAPI.items\[0\].path: '
                                        rf'Invalid value: "{re.escape(path)}": {why}'):
        prepare([spec], tmp_path / "a" / "node", P)
    assert not [p for p in tmp_path.rglob("*") if p.name in ("escape", "b", "passwd")]


def test_fields_a_volume_cannot_show_are_refused(tmp_path):
    spec = pod(volumes=[{"name": "v", "downwardAPI": {"items": [
        {"path": "ip", "fieldRef": {"fieldPath": "status.podIP"}}]}}])
    with pytest.raises(StepError, match=r'fieldPath: Unsupported value: "status.podIP": supported values: '
                                        r'"metadata.annotations"'):
        prepare([spec], tmp_path / "node", P)


PROJECTED = """
apiVersion: v1
kind: Secret
metadata: {name: user}
stringData: {username.txt: admin}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast, color: blue}
---
apiVersion: v1
kind: Pod
metadata: {name: proj, labels: {app: demo}}
spec:
  serviceAccountName: builder
  containers:
  - name: main
    image: busybox
    volumeMounts: [{name: all-in-one, mountPath: /projected-volume}]
  volumes:
  - name: all-in-one
    projected:
      defaultMode: 0440
      sources:
      - secret: {name: user}
      - configMap:
          name: settings
          items: [{key: color, path: conf/colour, mode: 0400}]
      - configMap: {name: absent, optional: true}
      - downwardAPI:
          items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]
      - serviceAccountToken: {path: token, audience: vault, expirationSeconds: 7200}
"""


def test_projected_sources_share_one_folder(tmp_path):
    play = prepare(docs(PROJECTED), tmp_path / "node", P)
    folder = volume_folder(play, "all-in-one")
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith("..")) == [
        "conf", "labels", "token", "username.txt"]
    assert (folder / "username.txt").read_text() == "admin"            # the Secret's decoded value
    assert (folder / "conf/colour").read_text() == "blue"
    assert not (folder / "conf/mode").exists() and not (folder / "mode").exists()   # only the items asked for
    assert (folder / "labels").read_text() == 'app="demo"'
    assert oct((folder / "username.txt").stat().st_mode & 0o777) == oct(0o440)
    assert oct((folder / "conf/colour").stat().st_mode & 0o777) == oct(0o400)
    _header, claims, _ = (folder / "token").read_text().split(".")
    claims = json.loads(base64.urlsafe_b64decode(claims + "=="))
    assert claims["aud"] == ["vault"] and claims["exp"] - claims["iat"] == 7200
    assert claims["sub"] == "system:serviceaccount:default:builder"
    assert claims["kubernetes.io"]["pod"]["name"] == "proj"
    assert any("serviceAccountToken token: a stand-in token" in n for n in play.notes)
    assert played(play)["spec"]["containers"][0]["volumeMounts"][0]["readOnly"] is True


def test_projected_sources_the_page_did_not_create_are_limits_or_fails(tmp_path):
    kept = prepare(docs(PROJECTED)[:2], tmp_path / "node", P).configs
    user = docs(PROJECTED)[2]
    user["spec"]["volumes"][0]["projected"]["sources"].append({"secret": {"name": "pass"}})
    with pytest.raises(RuntimeLimit, match="the pod uses Secret 'pass', which no step"):
        prepare([user], tmp_path / "node", P, known=kept)
    user["spec"]["volumes"][0]["projected"]["sources"][-1] = {
        "secret": {"name": "user", "items": [{"key": "password.txt", "path": "p"}]}}
    with pytest.raises(StepError, match=r"Secret 'user' has no key 'password.txt' \(its keys: username.txt\).*"
                                        "FailedMount"):
        prepare([user], tmp_path / "node", P, known=kept)
    user["spec"]["volumes"][0]["projected"]["sources"][-1] = {"clusterTrustBundle": {"name": "ca", "path": "ca.pem"}}
    with pytest.raises(RuntimeLimit, match="clusterTrustBundle"):
        prepare([user], tmp_path / "node", P, known=kept)


def test_the_pods_fsgroup_owns_the_volume_files(tmp_path):
    spec = docs(DAPI_POD)
    spec[0]["spec"]["securityContext"] = {"fsGroup": 2000}
    folder = volume_folder(prepare(spec, tmp_path / "node", P), "podinfo")
    assert oct((folder / "labels").stat().st_mode & 0o777) == oct(0o640)      # 0600 + g+r
    assert (folder / "..data").stat().st_mode & 0o2000                       # setgid folders
    if os.geteuid() == 0:
        assert (folder / "labels").stat().st_gid == 2000


@pytest.mark.parametrize("text, quoted", [("plain", '"plain"'), ('a"b', r'"a\"b"'), ("x\x01y\x7f", r'"x\x01y\x7f"'),
                                          ("tab\there", r'"tab\there"'), ("nbsp\u00a0", r'"nbsp\u00a0"'),
                                          ("日本", '"日本"')])
def test_values_are_quoted_as_gos_percent_q(text, quoted):
    assert go_quote(text) == quoted


@pytest.mark.parametrize("volume", [{"name": "../../outside", "downwardAPI": {"items": []}},
                                    {"name": "../../outside", "emptyDir": {}}], ids=["downwardAPI", "emptyDir"])
@pytest.mark.parametrize("pod_name", ["web", "../../outside"])
def test_names_that_would_reach_out_of_the_work_folder_are_refused(tmp_path, volume, pod_name):
    bad = pod(name=pod_name, volumes=[dict(volume, name="ok") if pod_name != "web" else volume])
    with pytest.raises(StepError, match=r"is invalid: (metadata.name|spec.volumes\[0\].name): Invalid value: "
                                        r'"../../outside": a lowercase RFC 1123'):
        prepare([bad], tmp_path / "a" / "b" / "node", P)
    assert not (tmp_path / "outside").exists() and not (tmp_path / "a" / "outside").exists()
