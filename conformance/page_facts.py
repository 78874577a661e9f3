"""What a page and its manifests say that the run needs: the examples file name written
above an inline manifest, the commands a manifest gives each container, the names of the
objects a manifest declares.
"""
from __future__ import annotations

import re
from pathlib import Path

from .manifests import load_all, without_elisions

# a line that is an examples file name (pods/x.yaml), with Markdown markup around it, or the
# website's copy button text after it ("pods/x.yaml Copy pods/x.yaml to clipboard")
SHOWN_FILE = re.compile(r"^[\s*_`>\[(]*(?P<file>(?:[\w.-]+/)*[\w.-]+\.(?:ya?ml|json))[*_`\])]*(?P<rest>.*)$")


def shown_file_name(page_text: str, block_line: int) -> str:
    """The examples file name written on the line(s) just above the block starting at
    block_line (1-based), "" when there is none. Blank lines between are allowed; the first
    text line above decides."""
    lines = page_text.split("\n")
    for index in range(block_line - 2, max(block_line - 5, -1), -1):
        if index >= len(lines) or not lines[index].strip():
            continue
        m = SHOWN_FILE.match(lines[index].strip())
        if not m or (m["rest"].strip() and m["file"] not in m["rest"]):
            return ""
        name = m["file"]
        # a name, never a way out of the work folder
        return "" if any(part in ("", ".", "..") for part in name.split("/")) else name
    return ""


def container_commands(path: Path) -> dict[str, dict[str, list[str]]]:
    """pod -> container -> command + args, as the manifest writes them (Pods only)."""
    import yaml
    try:
        documents = load_all(without_elisions(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    found: dict[str, dict[str, list[str]]] = {}
    for doc in documents:
        if not isinstance(doc, dict) or doc.get("kind") != "Pod":
            continue
        name = (doc.get("metadata") or {}).get("name")
        containers = (doc.get("spec") or {}).get("containers") or []
        if isinstance(name, str) and isinstance(containers, list):
            # without `command` the image's entrypoint runs: the manifest does not say what
            found[name] = {str(c.get("name")): [str(a) for a in c["command"] + (c.get("args") or [])]
                           for c in containers if isinstance(c, dict) and isinstance(c.get("command"), list)}
    return found


def object_names(manifest: str) -> list[str]:
    import yaml
    try:
        documents = load_all(without_elisions(manifest))
    except yaml.YAMLError:
        return []
    return [str(d["metadata"]["name"]) for d in documents
            if isinstance(d, dict) and isinstance(d.get("metadata"), dict) and d["metadata"].get("name")]
