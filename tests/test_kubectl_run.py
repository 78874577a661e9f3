"""`kubectl run` as the Pod kubectl would create (conformance/kubectl_run.py)."""
from conformance.kubectl_run import pod_from_kubectl_run


def test_the_pod_of_a_plain_kubectl_run():
    made = pod_from_kubectl_run(["kubectl", "run", "myapp", "--image=busybox:1.28", "--restart=Never", "--",
                                 "sleep", "1d"])
    assert made is not None and (made.name, made.interactive, made.remove) == ("myapp", False, False)
    assert made.manifest == {"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": "myapp", "labels": {"run": "myapp"}},
                             "spec": {"containers": [{"name": "myapp", "image": "busybox:1.28",
                                                      "args": ["sleep", "1d"]}],
                                      "restartPolicy": "Never"}}


def test_interactive_command_env_labels_and_ports():
    made = pod_from_kubectl_run(["kubectl", "run", "-it", "--rm", "shell", "--image", "busybox", "--env", "A=1",
                                 "--labels=app=web,tier=front", "--port=8080", "--command", "--", "sh"])
    assert made is not None and made.interactive and made.remove
    container = made.manifest["spec"]["containers"][0]
    assert container == {"name": "shell", "image": "busybox", "command": ["sh"], "env": [{"name": "A", "value": "1"}],
                         "ports": [{"containerPort": 8080}], "stdin": True, "tty": True}
    assert made.manifest["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert made.manifest["spec"]["restartPolicy"] == "Always"


def test_what_only_an_api_server_can_do_is_left_to_it():
    assert pod_from_kubectl_run(["kubectl", "run", "x", "--image=nginx", "--expose", "--port=80"]) is None
    assert pod_from_kubectl_run(["kubectl", "run", "x", "--image=nginx", "--dry-run=client", "-o", "yaml"]) is None
    assert pod_from_kubectl_run(["kubectl", "run", "x"]) is None              # no image
    assert pod_from_kubectl_run(["kubectl", "get", "pods"]) is None
