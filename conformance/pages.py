"""Pages: finding them, their language, their front matter, and where their examples are.

Three layouts are understood:
- this project: <root>/docs/<lang>/... with the manifests in <root>/examples/...;
- the website's content tree: .../content/<lang>/docs/... with .../content/<lang>/examples/
  (a localized copy) and .../content/en/examples/ (the original);
- a kubernetes/website checkout root (it holds content/): every content/<lang>/docs page.
In a folder, a page is a .md/.markdown file or a .txt file. A file named on the command
line is a page whatever its name: Hugo Markdown or rendered text (what a reader saves from
the website) is told by its content (front matter, fences, shortcodes), not by its name.
A file that cannot be read as text (not UTF-8, binary, UTF-16, empty, unreadable) is a
page problem (PageReadError), reported at its file:line, never a crash of the run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .typing import FrontMatterData
from .versions import parse_version

PAGE_SUFFIXES = (".md", ".markdown", ".txt")
# content/<lang>: "en", "pt-br", "zh-cn" ...
LANGUAGE_RE = re.compile(r"^[a-z]{2}(-[a-z]{2,4})?$")
# the website's examples as the pages write them in commands: https://k8s.io/examples/...,
# the long form https://kubernetes.io/examples/..., with or without the scheme
EXAMPLES_URL_RE = re.compile(
    r"(?:https?://)?(?:www\.)?(?:k8s\.io|kubernetes\.io)/examples/(?P<path>[^\s'\"]+)")
# what only Hugo Markdown has: a code fence, a shortcode
MARKDOWN_SIGNS = re.compile(r"^[ \t]*(?:`{3,}|~{3,})|\{\{[<%]", re.MULTILINE)
LANGUAGE_KEYS = ("language", "lang")
NOT_PAGES = {"README.md", "LICENSE.md", "OWNERS"}


class PageError(Exception):
    """Bad input in a page: the message names file:line and what was expected."""


class PageReadError(PageError):
    """A page file that cannot be read as text. `line` is where the trouble is (1-based) and
    `text` what could be read of it (undecodable bytes replaced), so the problem can be shown
    at its place."""

    def __init__(self, message: str, line: int = 1, text: str = ""):
        super().__init__(message)
        self.line = line
        self.text = text


def _normalize(text: str) -> str:
    """One form for every page: no byte-order mark, \n line ends (CRLF and CR too)."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def read_page_text(path: Path) -> str:
    """The text of a page file, UTF-8 (with or without BOM, any line ends), or PageReadError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise PageReadError(f"{path}:1: cannot read the file: {err.strerror or err} "
                            "(expected a readable UTF-8 text page)") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PageReadError(f"{path}:1: the file is UTF-16 (byte-order mark {raw[:2].hex(' ')}): "
                            "expected UTF-8; save the page as UTF-8")
    if not raw.replace(b"\xef\xbb\xbf", b"").strip():
        raise PageReadError(f"{path}:1: the file is empty: expected a page "
                            "(front matter and Markdown, or the text of a rendered page)")
    replaced = _normalize(raw.decode("utf-8", errors="replace"))
    nul = raw.find(b"\0")
    if nul >= 0:
        line = raw[:nul].count(b"\n") + 1
        raise PageReadError(f"{path}:{line}: binary content (a NUL byte at offset {nul}): "
                            "expected a text page", line, replaced.replace("\0", "\ufffd"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise PageReadError(f"{path}:{line}: not UTF-8 (byte 0x{raw[err.start]:02x} at offset {err.start}): "
                            "expected UTF-8 text; save the page as UTF-8", line, replaced) from None
    return _normalize(text)


def detect_format(text: str, path: Path | None = None) -> str:
    """"markdown" or "rendered", by the content, not the file name: front matter, a code fence
    or a Hugo shortcode make it Markdown (every website page has front matter); text with
    none of them is a rendered page, whatever its name."""
    if re.match(r"---[ \t]*\n", text) or MARKDOWN_SIGNS.search(text):
        return "markdown"
    return "rendered"


@dataclass
class FrontMatter:
    data: FrontMatterData = field(default_factory=dict)
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


def load_page(path: Path, text: str | None = None, default_language: str | None = None) -> Page:
    """The page at path (text: already read by read_page_text). Its language comes from its
    front matter (`language`/`lang`), else its path, else default_language."""
    path = Path(path)
    text = read_page_text(path) if text is None else text
    fmt = detect_format(text, path)
    front = parse_front_matter(text, path) if fmt == "markdown" else FrontMatter()
    if fmt == "rendered":
        # rendered pages state the gate as a sentence; recognise the version in it
        m = re.search(r"(?:v|version\s)(\d+\.\d+)\b[^\n]*kubectl version", text)
        if m:
            front.data["min-kubernetes-server-version"] = "v" + m.group(1)
    language = _front_matter_language(front) or language_of(path) or default_language
    return Page(path=path, language=language, text=text, format=fmt, front_matter=front,
                examples_dirs=examples_dirs_for(path))


def _front_matter_language(front: FrontMatter) -> str | None:
    for key in LANGUAGE_KEYS:
        value = str(front.data.get(key) or "").strip().lower()
        if LANGUAGE_RE.match(value):
            return value
    return None


def page_language(path: Path) -> str | None:
    """The language a page names (front matter, then path), without failing on a bad file."""
    try:
        text = read_page_text(path)
        if detect_format(text, path) == "markdown":
            found = _front_matter_language(parse_front_matter(text, path))
            if found:
                return found
    except PageError:
        pass
    return language_of(path)


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

    A file is taken as given, whatever its name (its language from its front matter or its
    path; a file that names no language is kept when exactly one language is asked for: it
    is taken to be in that language); a folder is searched for pages; a website checkout
    root is searched under content/ only.
    """
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise PageError(f"{path}: no such file or folder")
        if path.is_file():
            language = page_language(path)
            wanted = not languages or language in languages or (language is None and len(languages) == 1)
            if wanted and path not in found:
                found.append(path)
            continue
        root = path / "content" if (path / "content").is_dir() else path
        candidates = sorted(p for p in root.rglob("*") if p.suffix in PAGE_SUFFIXES)
        candidates = [p for p in candidates if is_page(p) and "examples" not in p.relative_to(root).parts]
        for candidate in candidates:
            if languages and page_language(candidate) not in languages:
                continue
            if candidate not in found:
                found.append(candidate)
    return found
