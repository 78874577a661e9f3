"""Page-wide bindings of documented placeholder values to the real values seen while running the page.

A page's process ids are not literally expected: `8` in `ps ax` output and in `kill -HUP 8` stands for
whatever PID the nginx master really has. The first output that shows a documented PID binds it; from
then on the same documented PID must be the same real process(es), and different documented PIDs must
be different real processes. A documented row may stand for several real rows (one nginx worker per
CPU), so a documented value binds to a non-empty set of real values; the sets are disjoint.

Names that Kubernetes generates (`nginx-deployment-66b6c48dd5-4jw2p`, `pod/mypod-x7k2q`) are bound the
same way, segment by segment, in the namespace NAME.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .shell import Word, command_name, shell_words, simple_commands

PID = "pid"
NAME = "name"

#: Table columns holding process ids; they share one namespace (a PPID is some row's PID).
PID_COLUMNS = frozenset({"PID", "PPID", "PGID", "SID", "SESS", "TID", "TGID", "LWP", "SPID", "TPGID"})

# 1 is the first process of any PID namespace (its init; the pod sandbox in a shared namespace) and 0
# means "no parent": they are not arbitrary numbers, so they only ever stand for themselves.
_FIXED_PIDS = frozenset({"0", "1"})

# /proc/<pid> at the start of a path (`/host/proc/9` is another machine's /proc)
_PROC_PID = re.compile(r"(?<![\w.-])/proc/(\d+)(?=$|[/\s'\"`;|&)])")

# The alphabet of Kubernetes' generated name parts (k8s.io/apimachinery/pkg/util/rand: no vowels,
# no 0/1/3), the 5-character random suffix of pods and jobs, and the 6-10 character template hash of
# ReplicaSets.
_GENERATED_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_RANDOM_SUFFIX = re.compile(f"[{_GENERATED_ALPHABET}]{{5}}")
_TEMPLATE_HASH = re.compile(f"[{_GENERATED_ALPHABET}]{{6,10}}")
#: A Kubernetes object name, optionally as kind/name (`pod/mypod-x7k2q`, `deployment.apps/web`).
OBJECT_NAME = re.compile(r"(?<![\w./-])(?:[a-z][a-z0-9.]*/)?[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?(?![\w/-])")


class UnboundPlaceholder(Exception):
    """A command uses a documented value (a PID) that no earlier output of the page has shown."""

    def __init__(self, namespace: str, documented: str, command: str):
        self.namespace = namespace
        self.documented = documented
        self.command = command
        super().__init__(f"{_label(namespace)} {documented} in {command!r} "
                         "was never shown by an earlier output on this page")


@dataclass(frozen=True)
class Binding:
    namespace: str
    documented: str
    real: frozenset[str]
    line: int | None  # page line of the output that made the binding
    what: str         # what the documented value belonged to, e.g. "nginx: worker process"

    def describe(self) -> str:
        where = f" at line {self.line}" if self.line is not None else ""
        of = f" ({self.what!r})" if self.what else ""
        return (f"{_label(self.namespace)} {self.documented}{of} was bound{where} "
                f"to real {format_values(self.real)}")


def format_values(values: Iterable[str]) -> str:
    """'31' or '33, 34', numbers in numeric order."""
    return ", ".join(sorted(values, key=_sort_key))


def _sort_key(value: str) -> tuple[int, int, str]:
    return (0, int(value), "") if value.lstrip("-").isdigit() else (1, 0, value)


def _label(namespace: str) -> str:
    return "PID" if namespace == PID else "generated name part"


def _plural(namespace: str, values: Iterable[str]) -> str:
    label = _label(namespace)
    return f"{label}s" if len(list(values)) > 1 else label


class Bindings:
    """All bindings made so far while running one page (one instance per page run)."""

    def __init__(self) -> None:
        self._by_documented: dict[tuple[str, str], Binding] = {}
        self._by_real: dict[tuple[str, str], Binding] = {}

    # ---- queries -------------------------------------------------------------------------------

    def get(self, namespace: str, documented: str | int) -> Binding | None:
        return self._by_documented.get((namespace, str(documented)))

    def owner(self, namespace: str, real: str | int) -> Binding | None:
        """The binding whose real set holds this real value."""
        return self._by_real.get((namespace, str(real)))

    def real_pids(self, documented: str | int) -> set[int] | None:
        binding = self.get(PID, documented)
        return None if binding is None else {int(v) for v in binding.real}

    def __iter__(self) -> Iterator[Binding]:
        return iter(self._by_documented.values())

    def __len__(self) -> int:
        return len(self._by_documented)

    def __repr__(self) -> str:
        pairs = ", ".join(f"{b.documented}->{{{format_values(b.real)}}}" for b in self)
        return f"Bindings({pairs})"

    # ---- binding -------------------------------------------------------------------------------

    def bind(self, namespace: str, documented: str | int, real: Iterable[str | int], *,
             line: int | None = None, what: str = "", seen_as: str | None = None) -> list[str]:
        """Bind `documented` to the set `real`, or say why that contradicts earlier outputs.

        `what` is what the value belongs to (a row's command), kept with the binding; `seen_as` says
        where it was seen this time, for the messages (default: `what` quoted).
        Returns the problems (empty when the binding holds); nothing is recorded when there are
        problems, so the first binding stays the reference.
        """
        documented = str(documented)
        real_set = frozenset(str(v) for v in real)
        if not real_set:
            raise ValueError("a documented value binds to at least one real value")
        label = _label(namespace)
        seen = seen_as or (repr(what) if what else "it")
        earlier = self.get(namespace, documented)
        owner = earlier.what if earlier is not None and earlier.what else what
        of = f" ({owner!r})" if owner else ""
        problems = []
        fixed = namespace == PID and (documented in _FIXED_PIDS or real_set & _FIXED_PIDS)
        if fixed and real_set != {documented}:
            if documented in _FIXED_PIDS:
                problems.append(f"PID {documented}{of} on the page is the first process of its PID "
                                f"namespace, but the real {seen} is {_plural(namespace, real_set)} "
                                f"{format_values(real_set)}")
            else:
                problems.append(f"real PID {format_values(real_set & _FIXED_PIDS)} is the first process of "
                                f"its PID namespace, but the page shows {seen} as PID {documented}")
        if earlier is not None and earlier.real != real_set:
            where = f" at line {earlier.line}" if earlier.line is not None else ""
            problems.append(f"{label} {documented}{of} was real {_plural(namespace, earlier.real)} "
                            f"{format_values(earlier.real)}{where}; now {seen} is "
                            f"{_plural(namespace, real_set)} {format_values(real_set)}")
        clashes: dict[str, list[str]] = {}
        for value in real_set:
            other = self.owner(namespace, value)
            if other is not None and other.documented != documented:
                clashes.setdefault(other.documented, []).append(value)
        for other_documented, values in clashes.items():
            kind = "processes" if namespace == PID else "names"
            where = self.get(namespace, other_documented)
            shown = f" (line {where.line})" if where is not None and where.line is not None else ""
            problems.append(f"documented {label}s {other_documented}{shown} and {documented} are different "
                            f"{kind} on the page, but both are real {_plural(namespace, values)} "
                            f"{format_values(values)}")
        if problems:
            return problems
        if earlier is None:
            binding = Binding(namespace, documented, real_set, line, what)
            self._by_documented[(namespace, documented)] = binding
            for value in real_set:
                self._by_real[(namespace, value)] = binding
        return []

    def bind_pids(self, documented: str | int, real: Iterable[str | int], *,
                  line: int | None = None, what: str = "", seen_as: str | None = None) -> list[str]:
        return self.bind(PID, documented, real, line=line, what=what, seen_as=seen_as)

    # ---- commands ------------------------------------------------------------------------------

    def resolve_command(self, command: str) -> str:
        """The command line with documented process ids (and bound generated names) made real.

        Process ids are the non-option numeric arguments of `kill` and the <n> of /proc/<n> paths in
        any argument. For kill, a PID bound to several processes becomes all of them; elsewhere the
        lowest. The user's quoting is kept: only the digits inside a word are replaced.
        Raises UnboundPlaceholder for a PID no earlier output showed.
        """
        edits: list[tuple[int, int, str]] = []
        for simple_command in simple_commands(shell_words(command)):
            edits += self._kill_edits(simple_command, command)
        for word in shell_words(command):
            if word.kind != "word":
                continue
            for match in _PROC_PID.finditer(word.raw):
                real = self._real_pids_for(match.group(1), command)
                start = word.start + match.start(1)
                edits.append((start, start + len(match.group(1)), real[0]))
            edits += self._name_edits(word)
        resolved = command
        for start, end, text in sorted(edits, reverse=True):
            resolved = resolved[:start] + text + resolved[end:]
        return resolved

    def _real_pids_for(self, documented: str, command: str) -> list[str]:
        if documented in _FIXED_PIDS and self.get(PID, documented) is None:
            return [documented]
        binding = self.get(PID, documented)
        if binding is None:
            raise UnboundPlaceholder(PID, documented, command)
        return sorted(binding.real, key=_sort_key)

    def _kill_edits(self, words: list[Word], command: str) -> list[tuple[int, int, str]]:
        program = command_name(words)
        if program is None or program[1] != "kill":
            return []
        edits = []
        for word in _kill_pid_arguments(words[program[0] + 1:]):
            digits = re.search(r"\d+", word.raw)
            real = self._real_pids_for(digits.group(), command)
            before, after = word.raw[: digits.start()], word.raw[digits.end():]
            # one real PID per word, so quoting such as '8' stays valid for each
            edits.append((word.start, word.end, " ".join(before + pid + after for pid in real)))
        return edits

    def _name_edits(self, word: Word) -> list[tuple[int, int, str]]:
        edits = []
        for match in OBJECT_NAME.finditer(word.raw):
            split = split_generated_name(match.group())
            if split is None:
                continue
            stem, parts = split
            offset = word.start + match.start() + len(stem)
            for part in parts:
                offset += 1  # the dash before each generated part
                binding = self.get(NAME, part)
                if binding is not None:
                    edits.append((offset, offset + len(part), min(binding.real)))
                offset += len(part)
        return edits


# ---- generated names ---------------------------------------------------------------------------

def split_generated_name(name: str) -> tuple[str, list[str]] | None:
    """('nginx-deployment', ['66b6c48dd5', '4jw2p']) for a name ending in generated parts, else None."""
    segments = name.split("-")
    parts: list[str] = []
    if len(segments) >= 2 and _RANDOM_SUFFIX.fullmatch(segments[-1]):
        parts.insert(0, segments.pop())
    if len(segments) >= 2 and _TEMPLATE_HASH.fullmatch(segments[-1]):
        parts.insert(0, segments.pop())
    if not parts:
        return None
    return "-".join(segments), parts


def _kill_pid_arguments(arguments: list[Word]) -> list[Word]:
    """The words of kill's arguments that are process ids (`-HUP`, `-s HUP`, `-9` are not)."""
    pids: list[Word] = []
    takes_value = False
    after_options = False
    for word in arguments:
        if word.kind != "word":
            break  # a redirection ends the arguments
        value = word.value
        if takes_value:
            takes_value = False
        elif after_options:
            if re.fullmatch(r"-?\d+", value):  # after --, -8 is the process group 8
                pids.append(word)
        elif value == "--":
            after_options = True
        elif value in ("-s", "-n", "--signal"):
            takes_value = True
        elif value in ("-l", "-L", "--list", "--table"):
            return []  # kill -l 15 names signal 15; no process is involved
        elif value.startswith("-"):
            continue
        elif value.isdigit():
            pids.append(word)
    return pids
