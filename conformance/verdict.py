"""Verdicts: what the suite concluded about one block of a page.

Every block of every page ends with exactly one verdict. A block made of several
sub-steps (a transcript with three typed commands) takes the worst of them.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Verdict(str, enum.Enum):
    PASS = "pass"
    DRIFT = "drift"      # the page's point holds, details differ; a failure only under --strict
    FAIL = "fail"        # the page's point is broken
    SKIP = "skip"        # cannot run here; always with a reason
    BLOCKED = "blocked"  # not run because an earlier step of the page failed

    @property
    def rank(self) -> int:
        return _RANK[self]


# worst-of order used to combine sub-results of one block
_RANK = {Verdict.SKIP: 0, Verdict.PASS: 1, Verdict.DRIFT: 2, Verdict.BLOCKED: 3, Verdict.FAIL: 4}

#: What was checked to reach a verdict, weakest first: nothing; a command ran and its exit
#: status was looked at; a manifest or snippet was validated; output was compared with the page.
CHECKS = ("", "ran", "validated", "compared")


@dataclass
class Outcome:
    """The result of one comparison or one sub-step."""

    verdict: Verdict
    reasons: list[str] = field(default_factory=list)
    diff: str = ""
    checked: str = ""          # one of CHECKS: what the verdict rests on

    @classmethod
    def passed(cls, reason: str = "") -> Outcome:
        return cls(Verdict.PASS, [reason] if reason else [])

    @classmethod
    def skipped(cls, reason: str) -> Outcome:
        return cls(Verdict.SKIP, [reason])

    @classmethod
    def failed(cls, reason: str, diff: str = "") -> Outcome:
        return cls(Verdict.FAIL, [reason], diff)

    @classmethod
    def drifted(cls, reason: str, diff: str = "") -> Outcome:
        return cls(Verdict.DRIFT, [reason], diff)

    @property
    def reason(self) -> str:
        return "; ".join(r for r in self.reasons if r)


def combine(outcomes: list[Outcome]) -> Outcome:
    """Worst verdict wins; reasons and diffs of the non-passing parts are kept in order.

    Skips only win when nothing else ran.
    """
    if not outcomes:
        raise ValueError("combine() needs at least one outcome")
    worst = max(outcomes, key=lambda o: o.verdict.rank)
    keep = [o for o in outcomes if o.verdict == worst.verdict] if worst.verdict in (Verdict.PASS, Verdict.SKIP) \
        else [o for o in outcomes if o.verdict not in (Verdict.PASS, Verdict.SKIP)]
    reasons = [r for o in keep for r in o.reasons if r]
    if worst.verdict == Verdict.PASS:
        # honest about the parts that did not run
        reasons += [f"not run: {r}" for o in outcomes if o.verdict == Verdict.SKIP for r in o.reasons if r]
    diffs = [o.diff for o in keep if o.diff]
    checked = max((o.checked for o in outcomes), key=CHECKS.index)
    return Outcome(worst.verdict, list(dict.fromkeys(reasons)), "\n".join(dict.fromkeys(diffs)), checked)
