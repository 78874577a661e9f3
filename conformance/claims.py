"""What the prose claims about an output: values the page's sentences state, asserted.

Pages often say exactly what an output proves: "The output shows that the processes are
running as user 1000, which is the value of runAsUser", "the /data/demo directory has
group ID 2000", "The Pod is Running". Today's comparison rules treat numbers in free text
and config values as volatile (a drift at most); a value the prose states is not volatile,
it is the point of the step. A claim is a token that a sentence around the output block
(the paragraph before it and the one after it) shares with the documented output itself:
a number of two or more digits (1000, 3/3, 2000) or a capitalised state word (Running,
Completed, OOMKilled). Tokens are found by script, not by words, so the same rule reads
"ユーザー1000として実行" in any language. A claim whose value is not in what was seen is
a fail that quotes the sentence.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# values a sentence can state: numbers of two or more digits and counts such as 3/3 (not
# addresses or times: 10.3.240.1 and 0:00 are examples of their kind, not the point), and
# capitalised words of four letters or more with a lower-case letter (Running, OOMKilled; not
# the all-capitals header words PID, USER). Boundaries are ASCII, so that 1000 is found in
# "ユーザー1000として" as in "user 1000".
VALUE = re.compile(r"(?<![A-Za-z0-9_./:-])(?:\d+/\d+|\d{2,}(?![.:]?\d)|(?=[A-Za-z]{4})[A-Z][A-Za-z]*[a-z][A-Za-z]*)"
                   r"(?![A-Za-z0-9_/-]|[.:]\d)", re.ASCII)
SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*|(?<=[:：])\s+")
# capitalised words that are prose, not values, however often an output holds them
PROSE_WORDS = frozenset({"This", "That", "There", "These", "Those", "When", "Then", "Note", "Each",
                         "Here", "Your", "With", "From", "After", "Before", "Once", "Also", "Kubernetes"})


@dataclass(frozen=True)
class Claim:
    value: str        # the token the sentence and the documented output share
    sentence: str     # the sentence that states it, as the page writes it


def sentences(prose: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(prose) if s and s.strip()]


def _tokens(text: str) -> set[str]:
    return {m.group(0) for m in VALUE.finditer(text)}


def find_claims(prose: list[str], expected: str) -> list[Claim]:
    """The values that sentences of `prose` state and the documented output `expected` shows.

    Header words of a table (all capitals: PID, USER) never match: VALUE needs lower case
    after a capital.
    """
    shown = _tokens(expected)
    claims: list[Claim] = []
    for paragraph in prose:
        for sentence in sentences(paragraph):
            for value in sorted(_tokens(sentence) & shown - PROSE_WORDS):
                if all(c.value != value for c in claims):
                    claims.append(Claim(value, sentence))
    return claims


def broken_claims(claims: list[Claim], actual: str,
                  stands_for: Callable[[str], set[str]] | None = None) -> list[Claim]:
    """The claims whose value is not in `actual`. `stands_for(value)` gives the real values a
    documented placeholder is bound to (a PID), which then stand in for it."""
    seen = _tokens(actual) | set(actual.split())
    broken = []
    for claim in claims:
        accepted = (stands_for(claim.value) if stands_for else set()) or {claim.value}
        if not accepted & seen:
            broken.append(claim)
    return broken
