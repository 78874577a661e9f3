"""Any existing Kubernetes cluster, reached through a kubeconfig context.

The suite creates only namespaces of its own there (labelled, see kubernetes.namespace_labels)
and the objects the pages create in them, and deletes exactly those: nothing else of the
cluster is touched.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from .base import RuntimeUnavailable
from .kubernetes import KubernetesRuntime


@dataclass(frozen=True)
class KubeconfigChoice:
    files: tuple[Path, ...]          # the kubeconfig files, merged in this order (as kubectl does)
    context: str
    explicit_file: bool              # given with --kubeconfig (else KUBECONFIG or ~/.kube/config)


def kubeconfig_files(kubeconfig: Path | str | None, environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The files kubectl would read: --kubeconfig, else $KUBECONFIG (a path list), else ~/.kube/config.

    Raises RuntimeUnavailable("no kubeconfig: ...") when none exists.
    """
    environ = os.environ if environ is None else environ
    if kubeconfig:
        path = Path(kubeconfig).expanduser()
        if not path.is_file():
            raise RuntimeUnavailable(f"no kubeconfig: {path} does not exist")
        return (path,)
    if environ.get("KUBECONFIG"):
        listed = [Path(p).expanduser() for p in environ["KUBECONFIG"].split(os.pathsep) if p]
        found = tuple(p for p in listed if p.is_file())
        if not found:
            raise RuntimeUnavailable("no kubeconfig: none of the files in KUBECONFIG exists ("
                                     + ", ".join(map(str, listed)) + ")")
        return found
    default = Path(environ.get("HOME", str(Path.home()))) / ".kube" / "config"
    if not default.is_file():
        raise RuntimeUnavailable(f"no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG, or create {default}")
    return (default,)


def choose_context(files: tuple[Path, ...], context: str | None) -> str:
    """The context to use: the one asked for, else the current-context (the first file that
    sets one wins, as with kubectl). RuntimeUnavailable names the contexts there are."""
    names: list[str] = []
    current: str | None = None
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise RuntimeUnavailable(f"kubeconfig {path} is unreadable: {exc}") from exc
        if not isinstance(data, dict):
            raise RuntimeUnavailable(f"kubeconfig {path} is not a kubeconfig (no mapping at the top)")
        for entry in data.get("contexts") or []:
            name = (entry or {}).get("name")
            if name and name not in names:
                names.append(name)
        current = current or data.get("current-context") or None
    where = ", ".join(map(str, files))
    known = ", ".join(names) or "none"
    if context:
        if context not in names:
            raise RuntimeUnavailable(f"no context {context!r} in kubeconfig {where} (contexts: {known})")
        return context
    if not current:
        raise RuntimeUnavailable(f"no context: kubeconfig {where} has no current-context; "
                                 f"pass --context (contexts: {known})")
    if current not in names:
        raise RuntimeUnavailable(f"no context: current-context {current!r} is not defined in {where} "
                                 f"(contexts: {known})")
    return current


class KubeconfigRuntime(KubernetesRuntime):
    """An existing cluster. Options: context (default: the current-context), kubeconfig (a file;
    default: KUBECONFIG or ~/.kube/config), connect_timeout (seconds to reach the API server)."""

    name = "kubeconfig"

    def __init__(self, context: str | None = None, kubeconfig: Path | str | None = None, *,
                 connect_timeout: float = 15.0, run_id: str | None = None,
                 cache_dir: Path | str | None = None):
        # cache_dir is accepted so that every runtime takes the same make_runtime() options;
        # this one keeps nothing on disk
        super().__init__(run_id=run_id)
        self.context_option = context
        self.kubeconfig_option = Path(kubeconfig) if kubeconfig else None
        self.connect_timeout = connect_timeout
        self.choice: KubeconfigChoice | None = None

    def load_config(self) -> KubeconfigChoice:
        """Find the kubeconfig and the context (files only, no server is asked)."""
        files = kubeconfig_files(self.kubeconfig_option)
        context = choose_context(files, self.context_option)
        self.choice = KubeconfigChoice(files, context, self.kubeconfig_option is not None)
        # kubectl is always told the context, so a `kubectl config use-context` elsewhere during
        # the run changes nothing; --kubeconfig only for one file (KUBECONFIG lists pass through).
        self.kubeconfig = files[0] if len(files) == 1 else None
        self.context = context
        return self.choice

    def client_config_file(self) -> str | None:
        if self.choice is None:
            return None
        return os.pathsep.join(str(p) for p in self.choice.files)

    def start(self) -> None:
        self.load_config()
        self._connect(timeout=self.connect_timeout)
