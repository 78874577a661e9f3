"""Page-wide bindings of documented placeholder values to the real values seen while running the page.

A page's process ids are not literally expected: `8` in `ps ax` output and in `kill -HUP 8` stands for
whatever PID the nginx master really has. The first output that shows a documented PID binds it; from
then on the same documented PID must be the same real process(es), and different documented PIDs must
be different real processes. A documented row may stand for several real rows (one nginx worker per
CPU), so a documented value binds to a non-empty set of real values; the sets are disjoint.

Where a command takes process ids is data, not code: `PID_COMMANDS` says, program by program, which
options take a PID (`ps -p N`, `nsenter -t N`, `strace -p N`, ...), whether bare arguments are PIDs
(`kill 8`, `renice 5 -p 8`) and how a documented PID bound to several real ones is typed. `/proc/<n>`
is a PID in any argument. `PID_PRINTERS` lists the commands whose output is PIDs (`pgrep`, `pidof`):
`bind_listed_pids` binds them the way a `ps` row binds its PID.

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
            other_binding = self.get(namespace, other_documented)
            shown = (f" (line {other_binding.line})"
                     if other_binding is not None and other_binding.line is not None else "")
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

        Process ids are where `PID_COMMANDS` says a program takes them (kill's arguments, `ps -p`,
        `nsenter -t`, ...) and the <n> of /proc/<n> paths in any argument. A PID bound to several
        processes becomes all of them where the program takes several (`kill 8 14` -> `kill 7 33 34`,
        `ps -p 14` -> `ps -p 33,34`), elsewhere the lowest. The user's quoting is kept: only the
        digits inside a word are replaced. Raises UnboundPlaceholder for a PID no earlier output showed.
        """
        edits: list[tuple[int, int, str]] = []
        for simple_command in simple_commands(shell_words(command)):
            edits += self._pid_argument_edits(simple_command, command)
        taken = [(start, end) for start, end, _ in edits]
        for word in shell_words(command):
            if word.kind != "word":
                continue
            for match in _PROC_PID.finditer(word.raw):
                start = word.start + match.start(1)
                if any(a <= start < b for a, b in taken):
                    continue  # already typed as an argument
                real = self._real_pids_for(match.group(1), command)
                edits.append((start, start + len(match.group(1)), real[0]))
            edits += self._name_edits(word)
        resolved = command
        for start, end, text in sorted(edits, reverse=True):
            resolved = resolved[:start] + text + resolved[end:]
        return resolved

    def bind_listed_pids(self, expected: str, actual: str, *, line: int | None = None,
                         what: str = "") -> list[str] | None:
        """Bind the PIDs a `pgrep`/`pidof` output lists, as a `ps` row binds its PID.

        Lines are `PID` (pgrep), `PID name` / `PID command line` (pgrep -l / -a) or one line of PIDs
        (pidof); PIDs are grouped by name. In a group, documented PIDs bound earlier must list their
        processes; the unbound rest binds in numeric order when the counts agree, or, when one is left,
        to all remaining real PIDs (one documented worker, a worker per CPU). Returns the problems, or
        None when either text is not such a list (then it is compared as text).
        """
        page, real = listed_pids(expected), listed_pids(actual)
        if page is None or real is None:
            return None
        page_groups: dict[str, list[str]] = {}
        real_groups: dict[str, list[str]] = {}
        for pid, name in page:
            page_groups.setdefault(name, []).append(pid)
        for pid, name in real:
            real_groups.setdefault(name, []).append(pid)
        problems: list[str] = []
        for name, documented in page_groups.items():
            label = repr(name) if name else repr(what) if what else "the list"
            pool = sorted(set(real_groups.get(name, [])), key=_sort_key)
            unbound = []
            for pid in sorted(documented, key=_sort_key):
                binding = self.get(PID, pid)
                if binding is None and pid not in _FIXED_PIDS:
                    unbound.append(pid)
                    continue
                present = (binding.real if binding is not None else frozenset({pid})) & set(pool)
                if not present:
                    problems.append(f"PID {pid} of {label} is real {format_values(binding.real if binding else [pid])}"
                                    f", not in the real output ({format_values(pool) or 'none'})")
                    continue
                problems += self.bind_pids(pid, present, line=line, what=name or what, seen_as=label)
                pool = [p for p in pool if p not in present]
            if not unbound:
                continue
            if len(unbound) == 1 and pool:
                pairs: list[tuple[str, list[str]]] = [(unbound[0], pool)]
            elif len(unbound) == len(pool):
                pairs = [(pid, [real_pid]) for pid, real_pid in zip(unbound, pool)]
            else:
                problems.append(f"the page lists PIDs {', '.join(unbound)} of {label}, the real output "
                                f"{'has ' + format_values(pool) if pool else 'has none left'}")
                continue
            for pid, reals in pairs:
                problems += self.bind_pids(pid, reals, line=line, what=name or what, seen_as=label)
        return problems

    def _real_pids_for(self, documented: str, command: str) -> list[str]:
        if documented in _FIXED_PIDS and self.get(PID, documented) is None:
            return [documented]
        binding = self.get(PID, documented)
        if binding is None:
            raise UnboundPlaceholder(PID, documented, command)
        return sorted(binding.real, key=_sort_key)

    def _pid_argument_edits(self, words: list[Word], command: str) -> list[tuple[int, int, str]]:
        program = command_name(words)
        spec = PID_COMMANDS_BY_PROGRAM.get(program[1]) if program is not None else None
        if program is None or spec is None:
            return []
        edits = []
        for region in pid_arguments(spec, words[program[0] + 1:]):
            word = region.word
            numbers = list(_NUMBER.finditer(word.raw, region.start, region.end))
            if region.several == WORDS:
                # one real PID per word, so quoting such as '8' stays valid for each
                digits = numbers[0]
                before, after = word.raw[: digits.start()], word.raw[digits.end():]
                real = self._real_pids_for(digits.group(), command)
                edits.append((word.start, word.end, " ".join(before + pid + after for pid in real)))
                continue
            separator = " " if " " in word.raw[region.start:region.end] else ","  # ps -p "8 14", ps -p 8,14
            for digits in numbers:
                real = self._real_pids_for(digits.group(), command)
                text = separator.join(real) if region.several == LIST else real[0]
                edits.append((word.start + digits.start(), word.start + digits.end(), text))
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


# ---- where programs take process ids -------------------------------------------------------------

#: How a documented PID bound to several real processes is typed.
WORDS = "words"    # one word per real PID: `kill 14` -> `kill 33 34`
LIST = "list"      # a comma-separated list: `ps -p 14` -> `ps -p 33,34`
LOWEST = "lowest"  # the program takes one process: `nsenter -t 14` -> `nsenter -t 33`

_NUMBER = re.compile(r"(?<!\d)\d+(?!\d)")  # within a region that holds PIDs (`-p8`, `8,14`, `^8`)


@dataclass(frozen=True)
class PidCommand:
    """Where one program takes process ids: a row of `PID_COMMANDS`.

    Options are matched as typed (`-p 8`), with their value attached (`-p8`, `--pid=8`) and, for a
    one-letter option, at the end of a cluster of flags (`strace -fp 8`, `ps -fp 8`).
    """

    program: str
    pid_options: tuple[str, ...] = ()    # options whose value is a PID or a list of them (`8`, `8,14`)
    several: str = LOWEST                # how a PID option's value is typed when bound to several
    positional: str = "none"             # bare arguments that are PIDs: "none", "all", or "last"
    positional_several: str = WORDS      # how a bare PID is typed when bound to several
    pid_modes: tuple[str, ...] = ()      # flags after which bare arguments are PIDs (renice -p, taskset -p);
    needs_mode: bool = False             # ... and without which they are not (taskset, chrt, ionice)
    other_modes: tuple[str, ...] = ()    # flags after which bare arguments are not PIDs (renice -u user)
    value_options: tuple[str, ...] = ()  # options taking a value that is not a PID (kill -s HUP, renice -n 5)
    leading_value: bool = False          # the first bare argument is a value unless a value option gave it
    no_pids: tuple[str, ...] = ()        # flags that mean no process is involved (kill -l 15 names a signal)
    process_groups: bool = False         # after `--`, -N is the process group N (kill)
    notes: str = ""


#: Program by program, where process ids are typed. /proc/<n> is handled in any argument.
PID_COMMANDS: tuple[PidCommand, ...] = (
    PidCommand("kill", positional="all", value_options=("-s", "-n", "--signal", "-q", "--queue"),
               no_pids=("-l", "-L", "--list", "--table"), process_groups=True,
               notes="kill [-SIG | -s SIG] N...; -N after -- is a process group"),
    PidCommand("ps", pid_options=("-p", "--pid", "-q", "--quick-pid", "--ppid", "-s", "--sid"), several=LIST,
               notes="ps -p N[,M], --pid N, --ppid N, -s SID (session ids are PIDs too)"),
    PidCommand("top", pid_options=("-p", "--pid"), several=LIST, notes="top -p N[,M]"),
    PidCommand("pidstat", pid_options=("-p",), several=LIST, notes="pidstat -p N[,M] (ALL and SELF left alone)"),
    PidCommand("lsof", pid_options=("-p",), several=LIST, notes="lsof -p N[,M] (^N excludes)"),
    PidCommand("pgrep", pid_options=("-P", "--parent", "-s", "--session", "-g", "--pgroup"), several=LIST,
               notes="pgrep -P PPID (its output: PID_PRINTERS)"),
    PidCommand("pkill", pid_options=("-P", "--parent", "-s", "--session", "-g", "--pgroup"), several=LIST),
    PidCommand("nsenter", pid_options=("-t", "--target"), notes="nsenter -t N (one process's namespaces)"),
    PidCommand("strace", pid_options=("-p", "--attach"), notes="strace -p N"),
    PidCommand("ltrace", pid_options=("-p",)),
    PidCommand("gdb", pid_options=("-p", "--pid", "-pid"), notes="gdb -p N, --pid=N"),
    PidCommand("prlimit", pid_options=("-p", "--pid")),
    PidCommand("renice", positional="all", pid_modes=("-p", "--pid"), other_modes=("-g", "--pgrp", "-u", "--user"),
               value_options=("-n", "--priority", "--relative"), leading_value=True,
               notes="renice [-n] PRIO [-p] N...; bare arguments are PIDs unless -g/-u"),
    PidCommand("taskset", positional="last", positional_several=LOWEST, pid_modes=("-p", "--pid"), needs_mode=True,
               notes="taskset -p [MASK] N, -cp LIST N: the last argument"),
    PidCommand("chrt", positional="last", positional_several=LOWEST, pid_modes=("-p", "--pid"), needs_mode=True,
               value_options=("-T", "--sched-runtime", "-P", "--sched-period", "-D", "--sched-deadline"),
               notes="chrt -p [PRIO] N: the last argument"),
    PidCommand("ionice", positional="all", pid_modes=("-p", "--pid"), needs_mode=True,
               value_options=("-c", "--class", "-n", "--classdata"), notes="ionice [-c C] -p N..."),
    PidCommand("pmap", positional="all", value_options=("-A", "--range"), notes="pmap N..."),
    PidCommand("pwdx", positional="all", notes="pwdx N..."),
)
PID_COMMANDS_BY_PROGRAM = {spec.program: spec for spec in PID_COMMANDS}


#: Commands whose output lists process ids (see Bindings.bind_listed_pids).
PID_PRINTERS = frozenset({"pgrep", "pidof"})


def prints_pids(command: str | None) -> bool:
    """The command is one `pgrep`/`pidof` (no pipeline): its output is a list of PIDs."""
    stages = simple_commands(shell_words(command or ""))
    program = command_name(stages[0]) if len(stages) == 1 else None
    return program is not None and program[1] in PID_PRINTERS


def listed_pids(text: str) -> list[tuple[str, str]] | None:
    """[(pid, name)] of a pgrep/pidof output; None when a line does not start with a PID."""
    pairs: list[tuple[str, str]] = []
    for line in text.splitlines():
        tokens = line.split()
        if not tokens:
            continue
        if all(t.isdigit() for t in tokens):
            pairs += [(t, "") for t in tokens]
        elif tokens[0].isdigit():
            pairs.append((tokens[0], " ".join(tokens[1:])))
        else:
            return None
    return pairs or None


@dataclass(frozen=True)
class PidRegion:
    """Characters [start, end) of a word's raw text that hold process ids, and how to type several."""

    word: Word
    start: int
    end: int
    several: str


def _has_flag(value: str, flags: tuple[str, ...]) -> bool:
    """`value` is one of `flags`, or a cluster of one-letter flags (`-cp`) that holds one of them."""
    if value in flags:
        return True
    return bool(re.fullmatch(r"-[A-Za-z]{2,}", value)) and any(
        len(flag) == 2 and flag[1] in value[1:] for flag in flags)


def pid_arguments(spec: PidCommand, arguments: list[Word]) -> list[PidRegion]:
    """Where in a program's arguments (the words after its name) process ids are typed."""
    regions: list[PidRegion] = []
    positional: list[Word] = []
    pid_mode = not spec.needs_mode
    takes = ""              # "pid" or "value": what the next word is
    after_options = False
    value_given = False
    for word in arguments:
        if word.kind != "word":
            break  # a redirection ends the arguments
        value = word.value
        if takes:
            if takes == "pid":
                regions.append(PidRegion(word, 0, len(word.raw), spec.several))
            takes = ""
            continue
        if after_options or not value.startswith("-") or value == "-":
            if spec.leading_value and not value_given:
                value_given = True  # renice 5 8: the priority
            elif (after_options and spec.process_groups and re.fullmatch(r"-\d+", value)) \
                    or (pid_mode and re.fullmatch(r"\d+", value)):
                positional.append(word)
            continue
        name, equals, _ = value.partition("=")
        if value == "--":
            after_options = True
        elif value in spec.no_pids:
            return []
        elif value in spec.pid_options:
            takes = "pid"
        elif equals and name in spec.pid_options:
            regions.append(PidRegion(word, word.raw.find("=") + 1, len(word.raw), spec.several))
        elif any(len(o) == 2 and value.startswith(o) and value[2:3].isdigit() for o in spec.pid_options):
            regions.append(PidRegion(word, word.raw.find(value[:2]) + 2, len(word.raw), spec.several))
        elif value in spec.value_options:
            takes, value_given = "value", True
        elif (equals and name in spec.value_options) or any(
                len(o) == 2 and value.startswith(o) and len(value) > 2 for o in spec.value_options):
            value_given = True
        elif spec.leading_value and not value_given and re.fullmatch(r"-\d+", value):
            value_given = True  # renice -5 8: a negative priority
        elif _has_flag(value, spec.pid_modes):
            pid_mode = True
        elif _has_flag(value, spec.other_modes):
            pid_mode = False
        elif re.fullmatch(r"-[A-Za-z]{2,}", value) and value[-1] in {o[1] for o in spec.pid_options if len(o) == 2}:
            takes = "pid"  # strace -fp 8: a cluster of flags ending in a PID option
    if spec.positional == "last":
        positional = positional[-1:] if pid_mode else []
    elif spec.positional == "none":
        positional = []
    regions += [PidRegion(word, 0, len(word.raw), spec.positional_several) for word in positional]
    return [r for r in regions if _NUMBER.search(r.word.raw, r.start, r.end)]
