"""Coverage: how much of a page was really checked, and why the rest was not.

A page whose blocks all "pass" because nothing could run is not a passing page. For each
page this counts the blocks found, what each verdict rests on (output compared with the
page, a manifest or snippet validated, a command that ran with only its exit status
looked at) and the skipped blocks grouped by the class of their reason. A page on which
nothing was compared or validated is shown as "unchecked", never as a plain pass.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from .typing import JSONDict

# reason text -> class; first match wins, the order goes from specific to general
SKIP_CLASSES: list[tuple[str, re.Pattern[str]]] = [
    ("version gate", re.compile(r"needs Kubernetes v\d|min-kubernetes-server-version")),
    ("needs a Kubernetes API", re.compile(r"needs a Kubernetes API|what kubectl prints for it is not shown")),
    ("image unavailable", re.compile(r"is not available here|no offline recipe")),
    ("no pod network", re.compile(r"needs network access|could not run here\)")),
    ("runtime limit", re.compile(r"runs on --runtime kind|cannot (?:create|play|mount)|refused on podman|"
                                 r"cannot run on this runtime|could not start here", re.IGNORECASE)),
    ("session did not open", re.compile(r"typed in the container session|opened no container session")),
    ("placeholder", re.compile(r"placeholder|image reference '<")),
    ("not created on this page", re.compile(r"not created|is not created by an earlier step")),
    ("host command", re.compile(r"reader's machine|no host shell|shell syntax|cannot split|"
                                r"made by a step that did not run here")),
    ("illustrative", re.compile(r"illustrative|did not run on this page|which did not run")),
]


def skip_class(reason: str) -> str:
    for name, pattern in SKIP_CLASSES:
        if pattern.search(reason):
            return name
    return "other"


@dataclass
class PageCoverage:
    found: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)          # compared / validated / ran
    skipped: Counter[str] = field(default_factory=Counter)         # reason class -> blocks

    @property
    def status(self) -> str:
        """fail, drift, pass, or unchecked (nothing compared or validated: not a pass)."""
        if self.verdicts["fail"]:
            return "fail"
        if not (self.checks["compared"] or self.checks["validated"]):
            return "unchecked"
        return "drift" if self.verdicts["drift"] else "pass"

    def as_dict(self) -> JSONDict:
        return {"status": self.status, "found": self.found, "verdicts": dict(self.verdicts),
                "compared": self.checks["compared"], "validated": self.checks["validated"],
                "ran": self.checks["ran"], "skipped": dict(self.skipped)}

    def line(self) -> str:
        checked = ", ".join(f"{self.checks[k]} {k}" for k in ("compared", "validated", "ran") if self.checks[k])
        skipped = sum(self.skipped.values())
        text = f"{self.found} block{'' if self.found == 1 else 's'}: {checked or 'nothing checked'}"
        if skipped:
            text += f"; {skipped} not run (" + ", ".join(f"{n} {c}" for c, n in self.skipped.most_common()) + ")"
        return text + f" -> {self.status.upper()}"


class BlockVerdict(Protocol):
    """What coverage reads of a block's record (report.BlockRecord)."""

    verdict: str
    reason: str
    checked: str


def page_coverage(blocks: Iterable[BlockVerdict]) -> PageCoverage:
    """Coverage of one page from its block records (objects with verdict, reason, checked)."""
    coverage = PageCoverage()
    for block in blocks:
        coverage.found += 1
        coverage.verdicts[block.verdict] += 1
        if block.verdict in ("pass", "drift", "fail") and block.checked:
            coverage.checks[block.checked] += 1
        if block.verdict == "skip":
            coverage.skipped[skip_class(block.reason)] += 1
        elif block.verdict == "blocked":
            coverage.skipped["blocked by an earlier fail"] += 1
    return coverage
