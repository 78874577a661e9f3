"""`kubectl run NAME --image=IMAGE ...`: the Pod that kubectl would create, as a manifest.

kubectl run builds one Pod from its flags: a container named like the Pod, the image, the
restart policy (Always unless --restart says otherwise), env, labels (run=NAME by default),
ports, and after `--` either the container's args or, with --command, its command. With -i
or -t the container gets stdin and a TTY and kubectl attaches to it. Runtimes without a
Kubernetes API play this manifest, so the pods of pages that use `kubectl run` exist there
too; flags that need an API server (--overrides, --expose, --dry-run) are left to it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .typing import Manifest

# flags that take a value (as --flag=value or --flag value)
_VALUED = {"--image", "--restart", "--env", "--labels", "-l", "--port", "--image-pull-policy", "--namespace",
           "-n", "--serviceaccount", "--overrides", "--dry-run", "--pod-running-timeout", "--annotations",
           "--context", "--kubeconfig", "--timeout", "--field-manager", "--output", "-o"}
# flags only an API server can honour
_NEEDS_API = {"--overrides", "--expose", "--dry-run", "--output", "-o"}


@dataclass
class RunPod:
    name: str
    manifest: Manifest
    interactive: bool          # -i / -t: attach to the container's TTY once it runs
    remove: bool               # --rm: delete it when the session ends


def pod_from_kubectl_run(argv: list[str]) -> RunPod | None:
    """The Pod of a `kubectl run` argv; None when it is not one a runtime can create by itself."""
    if len(argv) < 3 or argv[:2] != ["kubectl", "run"]:
        return None
    words, after = (argv[2:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv[2:], [])
    values: dict[str, list[str]] = {}
    flags: set[str] = set()
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        name, has_value, value = word.partition("=")
        if word.startswith("-") and name in _VALUED:
            if not has_value and i + 1 < len(words):
                value, i = words[i + 1], i + 1
            values.setdefault(name, []).append(value)
        elif word.startswith("--"):
            flags.add(name)
        elif word.startswith("-") and len(word) > 1:
            flags.update(f"-{c}" for c in word[1:])       # -it, -i -t, --rm handled above
        else:
            positional.append(word)
        i += 1
    if len(positional) != 1 or not values.get("--image") or _NEEDS_API & (set(values) | flags):
        return None
    name = positional[0]
    container: Manifest = {"name": name, "image": values["--image"][-1]}
    if after:
        container["command" if "--command" in flags else "args"] = after
    env = [v.split("=", 1) for v in values.get("--env", []) if "=" in v]
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env]
    if values.get("--port"):
        container["ports"] = [{"containerPort": int(values["--port"][-1])}]
    if values.get("--image-pull-policy"):
        container["imagePullPolicy"] = values["--image-pull-policy"][-1]
    interactive = bool({"-i", "-t", "--stdin", "--tty"} & flags)
    if interactive:
        container.update({"stdin": True, "tty": True})
    labels = dict(item.split("=", 1) for v in values.get("--labels", values.get("-l", []))
                  for item in v.split(",") if "=" in item) or {"run": name}
    restart = (values.get("--restart") or ["Always"])[-1]
    manifest: Manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
                          "spec": {"containers": [container], "restartPolicy": restart}}
    return RunPod(name, manifest, interactive, "--rm" in flags)
