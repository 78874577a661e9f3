"""The project's type aliases, in one place (as Sybil keeps its own in sybil/typing.py).

Most of the data the suite handles is parsed YAML or JSON whose shape is Kubernetes' or
podman's, not ours: those stay `dict[str, Any]`, named here for what they hold so that a
signature says which one it takes. mypy checks the package in strict mode (`nox -s lint`).
"""
from __future__ import annotations

import subprocess
from typing import Any, TypedDict

#: One YAML document of a manifest: a Kubernetes object (apiVersion, kind, metadata, spec, ...).
Manifest = dict[str, Any]

#: A mapping inside a manifest: a pod spec, a container, a volume or one of its sources, an env entry.
ManifestPart = dict[str, Any]

#: The documents of one YAML stream as loaded; an empty document is None, and a page's YAML may
#: hold a scalar or a list where a mapping is expected, so each is checked before it is used.
Documents = list[Any]

#: A page's front matter as parsed YAML (title, min-kubernetes-server-version, feature_state, ...).
FrontMatterData = dict[str, Any]

#: A JSON object as read from a tool (podman inspect, kubectl) or written to a report.
JSONDict = dict[str, Any]

#: A report's `runtime` entry: {"name", "images": [{"reference", "source"}]}.
RuntimeRecord = dict[str, Any]

#: A report's entry for one page: path, language, title, feature_state, min_server_version, coverage.
PageRecord = dict[str, Any]

#: A report's entry for one manifest document: path, line, document, versions {"1.25": "pass", ...}.
ManifestRecord = dict[str, Any]

#: A report's entry for one translated page: path, language, english, same, differences.
TranslationRecord = dict[str, Any]

class PrintedCommand(TypedDict):
    """What one command of a page really printed (`conformance run --record`)."""

    line: int
    command: str
    output: str


#: A finished host command with its output decoded as text.
Completed = subprocess.CompletedProcess[str]
