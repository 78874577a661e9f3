"""kubectl argv, read: the parts the page run needs (verb, targets, files, container, -it,
the command after --); everything else passes through as written. Which forms open an
interactive session on a container, and which kubectl verbs only read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

SHELLS = {"sh", "bash", "ash", "zsh", "/bin/sh", "/bin/bash", "/bin/ash", "/bin/zsh", "/bin/busybox"}


SHELL_NAMES = {"sh", "bash", "ash", "zsh", "dash", "ksh"}


KUBECTL_READ_ONLY = {"get", "describe", "logs", "top", "version", "cluster-info", "explain", "api-resources"}


@dataclass
class KubectlArgs:
    """The parts of a kubectl argv the runner needs; everything else is passed through as is."""

    verb: str = ""
    positional: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    kustomize: bool = False
    container: str | None = None
    interactive: bool = False
    command: list[str] = field(default_factory=list)   # after --

    # options that take a value, so that the value is not taken for a positional
    VALUE_OPTIONS: ClassVar[frozenset[str]] = frozenset({"-f", "--filename", "-c", "--container", "-n", "--namespace", "-o", "--output", "-l",
                     "--selector", "-k", "--kustomize", "--context", "--kubeconfig", "--image",
                     "--docker-server", "--docker-username", "--docker-password", "--docker-email",
                     "--from-literal", "--from-file", "--type", "--field-selector", "--sort-by", "--since",
                     "--tail", "--timeout", "--for", "--replicas", "--port", "--restart"})

    @classmethod
    def parse(cls, argv: list[str]) -> KubectlArgs:
        args = cls()
        words = argv[1:]
        if "--" in words:
            split = words.index("--")
            words, args.command = words[:split], words[split + 1:]
        i = 0
        while i < len(words):
            word = words[i]
            if word.startswith("-") and word != "-":
                name, _, value = word.partition("=")
                takes = name in cls.VALUE_OPTIONS
                if takes and not value and i + 1 < len(words):
                    value = words[i + 1]
                    i += 1
                if name in ("-f", "--filename"):
                    args.files.append(value)
                elif name in ("-k", "--kustomize"):
                    args.kustomize = True
                    args.files.append(value)
                elif name in ("-c", "--container"):
                    args.container = value
                elif not takes and re.fullmatch(r"-[a-z]*[it][a-z]*|--stdin|--tty", name):
                    args.interactive = args.interactive or "i" in name or "t" in name or name in ("--stdin", "--tty")
            elif not args.verb:
                args.verb = word
            else:
                args.positional.append(word)
            i += 1
        return args

    @property
    def target(self) -> str:
        return self.positional[0] if self.positional else ""

    @property
    def kind_names(self) -> list[tuple[str, str]]:
        """`delete pod a b` / `delete pod/a` -> [(pod, a), (pod, b)]"""
        if not self.positional:
            return []
        if "/" in self.positional[0]:
            return [tuple(p.split("/", 1)) for p in self.positional]  # type: ignore[misc]
        kind = self.positional[0]
        return [(kind, name) for name in self.positional[1:]]


def opens_session(args: KubectlArgs, debug: bool = False) -> bool:
    """kubectl attach, or exec -it of a shell: what follows is typed at the container's prompt.
    With debug, `kubectl debug -it` too (it opens one on a cluster; on podman it is skipped)."""
    return args.verb == "attach" or (args.verb == "exec" and args.interactive and bool(args.command)
                                     and args.command[0] in SHELLS) or (
        debug and args.verb in ("debug", "run") and args.interactive)
