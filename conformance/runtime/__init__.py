"""Runtimes: where a page's steps really run. See base.Runtime for the interface."""
from typing import Any

from .base import (
    Capability,
    ExecResult,
    ImageInfo,
    PodRef,
    Runtime,
    RuntimeLimit,
    RuntimeUnavailable,
    Session,
    StepError,
    Typed,
)

__all__ = [
    "RUNTIME_NAMES",
    "Capability",
    "ExecResult",
    "ImageInfo",
    "PodRef",
    "Runtime",
    "RuntimeLimit",
    "RuntimeUnavailable",
    "Session",
    "StepError",
    "Typed",
    "make_runtime",
]

RUNTIME_NAMES = ("podman", "kind", "kubeconfig")


def make_runtime(name: str, **options: Any) -> Runtime:
    """Build the named runtime; options are runtime specific (cache_dir, version, context...)."""
    if name == "podman":
        from .podman import PodmanRuntime
        return PodmanRuntime(**options)
    if name == "kind":
        from .kind import KindRuntime
        return KindRuntime(**options)
    if name == "kubeconfig":
        from .kubeconfig import KubeconfigRuntime
        return KubeconfigRuntime(**options)
    raise RuntimeUnavailable(f"unknown runtime {name!r}; choose one of {', '.join(RUNTIME_NAMES)}")
