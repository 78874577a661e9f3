"""Reports: the verdict of every block, as a terminal table, JSON, and a merged summary.

JSON shape (one run):
  {"runtime": {"name", "images": [{"reference", "source"}]},
   "pages": [{"path", "language", "title", "feature_state", "min_server_version",
              "coverage": {"status", "found", "verdicts", "compared", "validated", "ran", "skipped"}}],
   "blocks": [{"path", "line", "language", "kind", "verdict", "reason", "diff", "checked"}],
   "manifests": [{"path", "line", "document", "versions": {"1.25": "pass", ...}}],
   "translations": [{"path", "language", "english", "same", "differences"}],
   "summary": {"pass": n, "drift": n, "fail": n, "skip": n, "blocked": n}}
`conformance summary a.json b.json` merges several runs (one per Kubernetes version in
CI) into one table.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .coverage import PageCoverage, page_coverage
from .typing import JSONDict, ManifestRecord, PageRecord, RuntimeRecord, TranslationRecord
from .verdict import Verdict

VERDICT_ORDER = [v.value for v in (Verdict.PASS, Verdict.DRIFT, Verdict.FAIL, Verdict.SKIP, Verdict.BLOCKED)]


@dataclass
class BlockRecord:
    path: str
    line: int
    language: str
    kind: str
    verdict: str
    reason: str
    diff: str = ""
    checked: str = ""        # what the verdict rests on: compared | validated | ran | ""


@dataclass
class Recorder:
    runtime: RuntimeRecord = field(default_factory=lambda: {"name": "", "images": []})
    pages: list[PageRecord] = field(default_factory=list)
    blocks: list[BlockRecord] = field(default_factory=list)
    manifests: list[ManifestRecord] = field(default_factory=list)
    translations: list[TranslationRecord] = field(default_factory=list)

    def add(self, record: BlockRecord) -> None:
        self.blocks.append(record)

    def summary(self) -> dict[str, int]:
        counts = {v: 0 for v in VERDICT_ORDER}
        for block in self.blocks:
            counts[block.verdict] += 1
        return counts

    def coverage(self) -> dict[str, PageCoverage]:
        by_page: dict[str, list[BlockRecord]] = {page["path"]: [] for page in self.pages}
        for block in self.blocks:
            by_page.setdefault(block.path, []).append(block)
        return {path: page_coverage(blocks) for path, blocks in by_page.items()}

    def as_json(self) -> JSONDict:
        coverage = self.coverage()
        pages = [{**p, "coverage": coverage[p["path"]].as_dict()} if p["path"] in coverage else p
                 for p in self.pages]
        return {"runtime": self.runtime, "pages": pages, "blocks": [asdict(b) for b in self.blocks],
                "manifests": self.manifests, "translations": self.translations, "summary": self.summary()}

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def table(self, width: int = 0) -> str:
        """Every block with its verdict; each reason part on its own line; fail diffs below."""
        import textwrap
        width = width or max(80, min(160, _terminal_width()))
        pages = {p["path"]: p for p in self.pages}
        coverage = self.coverage()
        lines: list[str] = []
        current = None
        lead = " " * 30
        for block in self.blocks:
            if block.path != current:
                current = block.path
                info = pages.get(block.path, {})
                extra = ", ".join(x for x in (info.get("feature_state"),
                                              f"needs Kubernetes v{info['min_server_version']}"
                                              if info.get("min_server_version") else None) if x)
                lines.append(f"{block.path} [{block.language}]" + (f"  ({extra})" if extra else ""))
                lines.append(f"  {coverage[block.path].line()}")
            parts = [p.strip() for p in block.reason.split("; ") if p.strip()] or [""]
            head = f"  {block.line:>5}  {block.kind:<12} {block.verdict.upper():<8}"
            for index, part in enumerate(parts):
                wrapped = textwrap.wrap(part, width=max(30, width - len(lead))) or [""]
                for j, piece in enumerate(wrapped):
                    lines.append((head if index == 0 and j == 0 else lead) + " " + piece)
            if block.verdict == "fail" and block.diff:
                lines += [lead + " " + d for d in block.diff.split("\n")]
        for path in coverage:
            if not coverage[path].found:
                info = pages.get(path, {})
                lines += [f"{path} [{info.get('language') or ''}]", f"  {coverage[path].line()}"]
        counts = self.summary()
        lines.append("total: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
        return "\n".join(lines)


    def manifest_table(self, markdown: bool = False) -> str:
        """A row per manifest (page, line, document), a column per Kubernetes version."""
        return manifest_table(self.manifests, markdown)


MARKS = {"pass": "ok", "fail": "FAIL", "drift": "drift", "skip": "skip", "fragment": "frag"}


def manifest_table(manifests: list[ManifestRecord], markdown: bool = False) -> str:
    versions: list[str] = []
    for row in manifests:
        for version in row["versions"]:
            if version not in versions:
                versions.append(version)
    versions.sort(key=lambda v: tuple(int(x) for x in v.split(".")))
    header = ["manifest", "document"] + versions
    rows = [[f"{m['path']}:{m['line']}", m["document"]] + [MARKS.get(m["versions"].get(v, ""), "-") for v in versions]
            for m in manifests]
    if markdown:
        return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                         + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header] + rows)


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 120


def merge_summary(reports: list[Path], markdown: bool = True) -> str:
    """One table: a row per block, a column per report (e.g. per Kubernetes version)."""
    runs = []
    for path in reports:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        label = data.get("runtime", {}).get("label") or Path(path).stem
        runs.append((label, data))
    keys: list[tuple[str, int, str]] = []
    cells: dict[tuple[str, int, str], dict[str, str]] = {}
    for label, data in runs:
        for block in data.get("blocks", []):
            key = (block["path"], block["line"], block["kind"])
            if key not in cells:
                keys.append(key)
                cells[key] = {}
            cells[key][label] = block["verdict"]
    labels = [label for label, _ in runs]
    header = ["page", "line", "kind"] + labels
    rows = [[p, str(line), kind] + [cells[(p, line, kind)].get(l, "-") for l in labels]
            for p, line, kind in keys]
    totals = ["**total**", "", ""] + [
        ", ".join(f"{n} {v}" for v, n in data.get("summary", {}).items() if n) for _, data in runs]
    manifests = [m for _, data in runs[:1] for m in data.get("manifests", [])]
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(r) + " |" for r in rows + [totals]]
        if manifests:
            out += ["", "Manifests by Kubernetes version (offline schemas):", "", manifest_table(manifests, True)]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in [header] + rows + [totals]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [header] + rows + [totals])


def pages_table(reports: list[Path]) -> str:
    """A Markdown row per page: blocks found, verdicts, what was checked, and every fail."""
    header = ["page", "lang", "blocks", "pass", "drift", "fail", "skip", "blocked", "checked", "status", "fails"]
    rows = []
    for path in reports:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        fails: dict[str, list[str]] = {}
        for block in data.get("blocks", []):
            if block["verdict"] == "fail":
                fails.setdefault(block["path"], []).append(f"{block['line']}: {_short(block['reason'])}")
        for page in data.get("pages", []):
            cov = page.get("coverage")
            if not cov:
                continue
            counts = cov["verdicts"]
            checked = ", ".join(f"{cov[k]} {k}" for k in ("compared", "validated", "ran") if cov[k]) or "-"
            rows.append([f"`{page['path']}`", page.get("language") or "", str(cov["found"])]
                        + [str(counts.get(v, 0)) for v in VERDICT_ORDER]
                        + [checked, cov["status"], "<br>".join(fails.get(page["path"], [])) or "-"])
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                     + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows])


def _short(reason: str, width: int = 120) -> str:
    first = reason.split("; ")[0].replace("\n", " ")
    return first if len(first) <= width else first[: width - 1] + "…"
