"""Is a translated page still the same page as English?

For localization reviewers: the same commands, the same manifests, the same expected
outputs and the same version gate, block for block. Prose is not compared (it is
translated); YAML comments are not either (they may be translated too), so manifests are
compared as data. Whitespace is not significant (some copies lost their alignment).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .lex_markdown import lex_markdown
from .lex_rendered import lex_rendered
from .manifests import load_all, without_elisions
from .pages import LANGUAGE_RE, Page, load_page
from .steps import Step, steps_for


@dataclass
class TranslationReport:
    page: str
    language: str
    english: str | None
    differences: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return self.english is not None and not self.differences


def english_counterpart(path: Path) -> Path | None:
    """docs/<lang>/x.md -> docs/en/x.md; content/<lang>/docs/x.md -> content/en/docs/x.md.

    A rendered copy (x.rendered.txt) is compared with the English Markdown page (x.md).
    """
    parts = list(Path(path).resolve().parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] in ("docs", "content") and i + 1 < len(parts) and LANGUAGE_RE.match(parts[i + 1]):
            if parts[i + 1] == "en":
                return None
            parts[i + 1] = "en"
            candidate = Path(*parts)
            names = [candidate.name]
            if candidate.name.endswith(".rendered.txt"):
                names.insert(0, candidate.name[: -len(".rendered.txt")] + ".md")
            for name in names:
                if (candidate.parent / name).is_file():
                    return candidate.parent / name
            return None
    return None


def _steps(page: Page) -> list[Step]:
    blocks = (lex_markdown(page.text, page.front_matter.end_offset) if page.format == "markdown"
              else lex_rendered(page.text))
    return steps_for(blocks)


def _squash(text: str) -> str:
    return "\n".join(" ".join(line.split()) for line in text.split("\n") if line.strip())


def _signature(page: Page, step: Step) -> tuple[str, object]:
    """What must be the same in every language: kind and the code, as data."""
    if step.kind == "manifest":
        text = step.manifest_text
        if step.manifest_file:
            path = page.resolve_example(step.manifest_file)
            text = path.read_text(encoding="utf-8") if path else f"<missing {step.manifest_file}>"
        try:
            return "manifest", load_all(without_elisions(text))
        except yaml.YAMLError:
            return "manifest", _squash(text)
    if step.commands:
        return step.kind, [(c.argv or c.text.split(), _squash(c.expected or "")) for c in step.commands]
    return step.kind, _squash(step.expected or step.manifest_text)


def compare_with_english(path: Path) -> TranslationReport:
    page = load_page(path)
    english_path = english_counterpart(path)
    report = TranslationReport(str(path), page.language or "", str(english_path) if english_path else None)
    if english_path is None:
        report.differences.append("no English page at the same path")
        return report
    english = load_page(english_path)
    if page.front_matter.min_server_version != english.front_matter.min_server_version:
        report.differences.append(f"version gate: {page.front_matter.data.get('min-kubernetes-server-version')} "
                                  f"vs English {english.front_matter.data.get('min-kubernetes-server-version')}")
    if page.feature_state != english.feature_state:
        report.differences.append(f"feature state: {page.feature_state} vs English {english.feature_state}")
    ours = [(s, _signature(page, s)) for s in _steps(page)]
    theirs = [(s, _signature(english, s)) for s in _steps(english)]
    matcher = difflib.SequenceMatcher(a=[repr(sig) for _, sig in theirs], b=[repr(sig) for _, sig in ours],
                                      autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for offset in range(max(a1 - a0, b1 - b0)):
            en = theirs[a0 + offset] if a0 + offset < a1 else None
            tr = ours[b0 + offset] if b0 + offset < b1 else None
            if en and tr:
                report.differences.append(f"line {tr[0].line} ({tr[1][0]}) differs from English line "
                                          f"{en[0].line}: {_what_differs(en[1], tr[1])}")
            elif tr:
                report.differences.append(f"line {tr[0].line} ({tr[1][0]}) is not on the English page")
            elif en:
                report.differences.append(f"English line {en[0].line} ({en[1][0]}) is missing here")
    return report


def _what_differs(english: tuple[str, object], ours: tuple[str, object]) -> str:
    if english[0] != ours[0]:
        return f"a {ours[0]} where English has a {english[0]}"
    a, b = english[1], ours[1]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and all(isinstance(x, tuple) for x in a):
        for (argv_a, out_a), (argv_b, out_b) in zip(a, b):
            if argv_a != argv_b:
                return f"command `{' '.join(argv_b)}` vs `{' '.join(argv_a)}`"
            if out_a != out_b:
                diff = [d for d in difflib.unified_diff(out_a.split("\n"), out_b.split("\n"), "en", "here",
                                                        lineterm="", n=0) if not d.startswith(("---", "+++", "@@"))]
                return "expected output differs: " + "; ".join(diff[:4])
    return "content differs"
