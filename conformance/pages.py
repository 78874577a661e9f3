"""Pages: finding them, their language, their front matter, and where their examples are.

Three layouts are understood:
- this project: <root>/docs/<lang>/... with the manifests in <root>/examples/...;
- the website's content tree: .../content/<lang>/docs/... with .../content/<lang>/examples/
  (a localized copy) and .../content/en/examples/ (the original);
- a kubernetes/website checkout root (it holds content/): every content/<lang>/docs page.
A page is a .md file (Hugo Markdown) or a .txt file (text as rendered by the website).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .versions import parse_version

PAGE_SUFFIXES = (".md", ".txt")
# content/<lang>: "en", "pt-br", "zh-cn" ...
LANGUAGE_RE = re.compile(r"^[a-z]{2}(-[a-z]{2,4})?$")
# a short host for the website's examples, as the pages write it in commands
EXAMPLES_URL_RE = re.compile(r"https?://k8s\.io/examples/(?P<path>[^\s'\"]+)")
NOT_PAGES = {"README.md", "LICENSE.md", "OWNERS"}


class PageError(Exception):
    """Bad input in a page: the message names file:line and what was expected."""


@dataclass
class FrontMatter:
    data: dict = field(default_factory=dict)
    end_offset: int = 0          # character offset just after the closing ---
    line: int = 1

    @property
    def min_server_version(self) -> tuple[int, int] | None:
        value = self.data.get("min-kubernetes-server-version")
        return parse_version(str(value)) if value else None


@dataclass
class Page:
    path: Path
    language: str | None
    text: str
    format: str                   # "markdown" or "rendered"
    front_matter: FrontMatter
    examples_dirs: list[Path]

    @property
    def title(self) -> str:
        if self.front_matter.data.get("title"):
            return str(self.front_matter.data["title"])
        for line in self.text.splitlines():
            if line.strip():
                return line.strip()
        return self.path.stem

    @property
    def feature_state(self) -> str | None:
        """'stable since v1.17' from the shortcode or its rendered form."""
        m = re.search(r'feature-state\s+state="(?P<state>\w+)"\s+for_k8s_version="(?P<v>[^"]+)"', self.text)
        if m:
            return f"{m['state']} since {m['v']}"
        m = re.search(r"FEATURE STATE:\s*Kubernetes (?P<v>v[\d.]+) \[(?P<state>\w+)\]", self.text)
        if m:
            return f"{m['state']} since {m['v']}"
        return None

    def resolve_example(self, relative: str) -> Path | None:
        """The file a `codenew file=...` shortcode or a k8s.io/examples URL names."""
        relative = relative.lstrip("/")
        for base in self.examples_dirs:
            candidate = base / relative
            if candidate.is_file():
                return candidate
        return None


def load_page(path: Path) -> Page:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    fmt = "markdown" if path.suffix == ".md" else "rendered"
    front = parse_front_matter(text, path) if fmt == "markdown" else FrontMatter()
    if fmt == "rendered":
        # rendered pages state the gate as a sentence; recognise the version in it
        m = re.search(r"(?:v|version\s)(\d+\.\d+)\b[^\n]*kubectl version", text)
        if m:
            front.data["min-kubernetes-server-version"] = "v" + m.group(1)
    return Page(path=path, language=language_of(path), text=text, format=fmt, front_matter=front,
                examples_dirs=examples_dirs_for(path))


def parse_front_matter(text: str, path: Path) -> FrontMatter:
    if not text.startswith("---"):
        return FrontMatter()
    lines = text.splitlines(keepends=True)
    offset = len(lines[0])
    for index, line in enumerate(lines[1:], start=2):
        if line.rstrip() == "---":
            body = "".join(lines[1:index - 1])
            try:
                data = yaml.safe_load(body) or {}
            except yaml.YAMLError as err:
                mark = getattr(err, "problem_mark", None)
                where = (mark.line + 2) if mark else 2
                raise PageError(f"{path}:{where}: front matter is not valid YAML "
                                f"(expected key: value lines between the --- lines): "
                                f"{getattr(err, 'problem', err)}") from None
            if not isinstance(data, dict):
                raise PageError(f"{path}:2: front matter must be a mapping of key: value lines")
            return FrontMatter(data=data, end_offset=offset + len(line), line=1)
        offset += len(line)
    raise PageError(f"{path}:1: front matter opened with --- is never closed (expected a --- line)")


def language_of(path: Path) -> str | None:
    """content/<lang>/docs/... or docs/<lang>/...: the language folder nearest the page."""
    parts = Path(path).resolve().parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] in ("content", "docs") and i + 1 < len(parts) - 1 and LANGUAGE_RE.match(parts[i + 1]):
            return parts[i + 1]
    return None


def examples_dirs_for(path: Path) -> list[Path]:
    """Where the page's examples are, most specific first."""
    parts = Path(path).resolve().parts
    dirs: list[Path] = []
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "content" and LANGUAGE_RE.match(parts[i + 1]):
            content = Path(*parts[: i + 1])
            dirs += [content / parts[i + 1] / "examples", content / "en" / "examples"]
            break
        if parts[i] == "docs" and LANGUAGE_RE.match(parts[i + 1]):
            root = Path(*parts[:i])
            dirs += [root / "examples" / parts[i + 1], root / "examples"]
            break
    # dedupe, keep order
    seen, result = set(), []
    for d in dirs:
        if d not in seen:
            seen.add(d)
            result.append(d)
    return result


def is_page(path: Path) -> bool:
    path = Path(path)
    return (path.suffix in PAGE_SUFFIXES and path.name not in NOT_PAGES and path.is_file()
            and language_of(path) is not None)


def discover(paths: list[Path], languages: set[str] | None = None) -> list[Path]:
    """Page files under the given paths, in a stable order.

    A file is taken as given (its language from its path, if any); a folder is searched
    for pages; a website checkout root is searched under content/ only.
    """
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise PageError(f"{path}: no such file or folder")
        if path.is_file():
            candidates = [path]
        else:
            root = path / "content" if (path / "content").is_dir() else path
            candidates = sorted(p for p in root.rglob("*") if p.suffix in PAGE_SUFFIXES)
            candidates = [p for p in candidates if is_page(p) and "examples" not in p.relative_to(root).parts]
        for candidate in candidates:
            if languages and language_of(candidate) not in languages:
                continue
            if candidate not in found:
                found.append(candidate)
    return found
