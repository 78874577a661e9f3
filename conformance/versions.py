"""The Kubernetes versions the suite knows about: the one place to edit.

KUBERNETES_VERSIONS drives three things:
- manifest validation (every manifest against every version's OpenAPI schema, offline);
- the nox `matrix` session and the CI workflow (one kind cluster per version where `ci` is true);
- the kind runtime's default node image for `--kubernetes-version`.

Node image tags are kind's published node images (the CI ones as pinned by kind v0.33.0
users; older ones as last published); a newer patch can be given with `--node-image`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KubernetesVersion:
    minor: str          # "1.34"
    node_image: str     # kind node image for this version
    ci: bool = False    # part of the CI matrix (a kind cluster per version)

    @property
    def as_tuple(self) -> tuple[int, int]:
        major, minor = self.minor.split(".")
        return int(major), int(minor)


KUBERNETES_VERSIONS: tuple[KubernetesVersion, ...] = (
    KubernetesVersion("1.25", "kindest/node:v1.25.16"),
    KubernetesVersion("1.26", "kindest/node:v1.26.15"),
    KubernetesVersion("1.27", "kindest/node:v1.27.16"),
    KubernetesVersion("1.28", "kindest/node:v1.28.15"),
    KubernetesVersion("1.29", "kindest/node:v1.29.14"),
    KubernetesVersion("1.30", "kindest/node:v1.30.13"),
    KubernetesVersion("1.31", "kindest/node:v1.31.12"),
    KubernetesVersion("1.32", "kindest/node:v1.32.8"),
    KubernetesVersion("1.33", "kindest/node:v1.33.4"),
    KubernetesVersion("1.34", "kindest/node:v1.34.11", ci=True),
    KubernetesVersion("1.35", "kindest/node:v1.35.8", ci=True),
    KubernetesVersion("1.36", "kindest/node:v1.36.4", ci=True),
    KubernetesVersion("1.37", "kindest/node:v1.37.0", ci=True),
)

DEFAULT_VERSION = KUBERNETES_VERSIONS[-1].minor


def ci_matrix() -> list[str]:
    return [v.minor for v in KUBERNETES_VERSIONS if v.ci]


def find(minor: str) -> KubernetesVersion:
    minor = minor.lstrip("v")
    parts = minor.split(".")
    key = ".".join(parts[:2])
    for v in KUBERNETES_VERSIONS:
        if v.minor == key:
            return v
    known = ", ".join(v.minor for v in KUBERNETES_VERSIONS)
    raise KeyError(f"unknown Kubernetes version {minor!r}; known: {known} (edit conformance/versions.py)")


def parse_version(text: str) -> tuple[int, int]:
    """'v1.10' / '1.10.3' / 'v1.29.0-alpha' -> (1, 10)."""
    import re
    m = re.match(r"\s*v?(\d+)\.(\d+)", text)
    if not m:
        raise ValueError(f"not a Kubernetes version: {text!r} (expected something like v1.10)")
    return int(m.group(1)), int(m.group(2))
