"""Steps: what each block of a page asks the reader to do, or shows the reader.

A block becomes exactly one step. Commands are parsed into argv here (shlex) and never
reach a host shell: kubectl argv are mapped to runtime operations or run as real kubectl
on a cluster; text typed at a container prompt goes to that container's TTY; anything
else is reported as unsupported.
"""
from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass, field

from .blocks import ASSIGNMENT, KNOWN_COMMANDS, OUTPUT_WORDS, PROMPT_LINE, YAML_KEY, Block
from .manifests import HEREDOC, Heredoc, extract_heredocs, looks_like_manifest

MANIFEST_INFOS = {"yaml", "yml"}
SNIPPET_INFOS = {"toml", "json", "ini", "conf", "properties", "cfg", "xml", "hcl", "nginx", "dockerfile"}
COMMAND_INFOS = {"shell", "sh", "bash", "zsh", "powershell", "cmd", "bat", "terminal"}
# `console` blocks are output, or a transcript when prompts mark the commands
OUTPUT_INFOS = {"none", "text", "txt", "log", "output", "plaintext", "console", ""}
# an intro that announces output: "The output is similar to:", "La sortie est :", "出力は"
OUTPUT_INTRO = re.compile(r"(?:" + OUTPUT_WORDS.pattern + r")[^.!?]*[:：]?\s*$", re.IGNORECASE)
SHELL_OPERATORS = re.compile(r"(?<![\\])(\|\||&&|[|;&<>`]|\$\()")


@dataclass
class Command:
    text: str                 # the command as the page writes it (continuations joined)
    line: int                 # page line of the command
    argv: list[str] | None    # shlex split, None when it could not be split
    problem: str = ""         # why it cannot be run as argv (pipes, redirections, bad quoting)
    heredocs: list[Heredoc] = field(default_factory=list)
    expected: str | None = None  # the output the page shows for it, if any
    expected_line: int = 0

    @property
    def tool(self) -> str:
        return self.argv[0] if self.argv else (self.text.split()[0] if self.text.split() else "")


@dataclass
class Step:
    kind: str                 # manifest | command | transcript | output | snippet | illustrative | problem
    block: Block
    commands: list[Command] = field(default_factory=list)
    manifest_text: str = ""   # manifest: the YAML; snippet: the text
    manifest_file: str = ""   # shortcode: the examples-relative file name
    manifest_line: int = 0    # page line of the manifest's first line (0: an examples file)
    language: str = ""        # snippet language hint
    expected: str = ""        # output: the documented output
    problem: str = ""

    @property
    def line(self) -> int:
        return self.block.line


def _logical_lines(text: str, first_line: int) -> list[tuple[int, str]]:
    """Join backslash continuations; keep the page line of each logical line."""
    result: list[tuple[int, str]] = []
    pending, pending_line = "", 0
    for offset, raw in enumerate(text.split("\n")):
        if pending:
            pending += " " + raw.strip()
        else:
            pending, pending_line = raw.rstrip(), first_line + offset
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        result.append((pending_line, pending))
        pending = ""
    if pending:
        result.append((pending_line, pending))
    return result


def parse_command(text: str, line: int) -> Command:
    """One command line into argv; shell syntax we do not run is named, not guessed at."""
    command = Command(text=text.strip(), line=line, argv=None)
    try:
        argv = shlex.split(text, comments=True)
    except ValueError as err:
        command.problem = f"cannot split the command into words: {err}"
        return command
    if SHELL_OPERATORS.search(_without_quoted(text)):
        command.problem = ("uses shell syntax (pipes, redirections, command substitution, chaining); "
                           "the suite runs no host shell")
    command.argv = argv
    return command


def _without_quoted(text: str) -> str:
    return re.sub(r"'[^']*'|\"[^\"]*\"", "''", text)


def is_prompt_line(line: str) -> bool:
    stripped = line.strip()
    return bool(PROMPT_LINE.match(stripped)) and not stripped.startswith("# ")


def split_prompt(line: str) -> tuple[str, str]:
    m = PROMPT_LINE.match(line.strip())
    assert m
    return m["prompt"], m["command"]


def _transcript(block: Block) -> list[Command]:
    """`/ # cmd` lines with the output lines after each."""
    commands: list[Command] = []
    lines = block.text.split("\n")
    for offset, line in enumerate(lines):
        if is_prompt_line(line):
            _, text = split_prompt(line)
            command = parse_command(text, block.content_line + offset)
            command.expected, command.expected_line = "", block.content_line + offset + 1
            commands.append(command)
        elif commands:
            commands[-1].expected = (commands[-1].expected or "") + line + "\n"
    for command in commands:
        # leading blank lines stay: expected_line must remain the page line of expected's first line
        expected = command.expected or ""
        command.expected = expected.rstrip("\n") if expected.strip() else ""
    return commands


def _command_block(block: Block) -> list[Command]:
    """A shell block: commands, heredocs, and output lines when the page put them in the block."""
    commands: list[Command] = []
    heredocs = extract_heredocs(block.text)
    text = block.text
    # heredoc bodies are part of their command, not lines of their own
    body_lines: set[int] = set()
    for heredoc in heredocs:
        body_lines.update(range(heredoc.body_line_offset, heredoc.body_line_offset + heredoc.body_line_count + 1))
    logical = _logical_lines(text, block.content_line)
    # in a shell block without "$ " prompts every line is a command; output is only told apart
    # where prompts mark the commands, or in rendered text where command and output run together
    prompted = any(l.strip().startswith("$ ") for _, l in logical)
    all_commands = block.info.lower() in COMMAND_INFOS and not prompted
    for line_no, line in logical:
        offset = line_no - block.content_line
        if offset in body_lines:
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if PROMPT_LINE.match(stripped) and stripped.startswith("$"):
            stripped = split_prompt(stripped)[1]
        elif commands and not all_commands and not _looks_like_command(stripped):
            # output the page printed right after the command (rendered pages glue them)
            previous = commands[-1]
            if previous.expected is None:
                previous.expected, previous.expected_line = "", line_no
            previous.expected += stripped + "\n"
            continue
        own = [h for h in heredocs if h.command_line_offset == offset]
        if own:
            # the heredoc (and the file it is redirected to) is data we handle, not shell syntax
            bare = HEREDOC.sub("", stripped)
            if any(h.target for h in own):
                bare = re.sub(r">>?\s*\S+", "", bare)
            command = parse_command(bare, line_no)
            command.text = stripped
        else:
            command = parse_command(stripped, line_no)
        command.heredocs = own
        commands.append(command)
    for command in commands:
        if command.expected:
            command.expected = command.expected.rstrip("\n")
    return commands


def _looks_like_command(stripped: str) -> bool:
    first = stripped.split()[0] if stripped.split() else ""
    # a path runs a program when it is one (./run.sh, /bin/sh, /usr/local/bin/x), not any path:
    # `/var/lib/mysql` on a line of its own is what a command printed
    return first in KNOWN_COMMANDS or bool(ASSIGNMENT.match(stripped)) or first.startswith("./") \
        or bool(PROGRAM_PATH.match(first))


PROGRAM_PATH = re.compile(r"/(?:usr/(?:local/)?)?s?bin/\S+$|/\S+\.(?:sh|py|pl)$")


def classify(block: Block, previous: Step | None) -> Step:
    """Decide what one block is. `previous` is the step of the block before it on the page."""
    if block.source == "problem":
        return Step("problem", block, problem=block.problem)
    if block.source == "include":
        return Step("illustrative", block,
                    problem=f"the tab's content is the file {block.attrs.get('include', '?')!r}, "
                            "which the suite does not follow")
    if block.source == "shortcode" and not _is_manifest_file(block.attrs.get("file", "")):
        # `{{< codenew file="minikube/Dockerfile" >}}`, a server.js: a file shown, in its own language
        name = block.attrs.get("file", "")
        # the file's own kind first: language= is for highlighting (a Dockerfile shown as "conf")
        by_name = _language_of_file(name)
        language = by_name if by_name == "dockerfile" else block.attrs.get("language") or by_name
        return Step("snippet", block, manifest_file=name, language=language)
    if block.source == "shortcode":
        return Step("manifest", block, manifest_file=block.attrs.get("file", ""),
                    problem="" if block.attrs.get("file") else
                    f'{block.info} shortcode without file="..." (expected e.g. file="pods/pod.yaml")')
    info = block.info.lower()
    text = block.text
    nonblank = [l for l in text.split("\n") if l.strip()]
    if not nonblank:
        return Step("illustrative", block, problem="empty block")
    first = nonblank[0].strip()
    if info not in MANIFEST_INFOS and all(ASSIGNMENT.match(l.strip()) for l in nonblank) \
            and (not any(t in first for t in ("$(", "`")) or _follows_a_command(previous)):
        if _follows_a_command(previous) and (info not in COMMAND_INFOS or OUTPUT_INTRO.search(block.intro)
                                             or not block.intro):
            # what a command printed (`printenv`, `env`): NAME=value lines are its output
            return Step("output", block, expected=text.strip("\n"))
        return Step("illustrative", block, expected=text,
                    problem="environment variables listed for the reader, not a command")
    # a command that carries a manifest in a heredoc is a command (its manifest is validated too)
    command_first = info in COMMAND_INFOS or _looks_like_command(first) or first.startswith("$ ")
    if _prints_yaml(previous) and not command_first:
        # `kubectl get pod x -o yaml` then the object it printed: output, not a manifest to apply
        return Step("output", block, expected=text.strip("\n"))
    if info in MANIFEST_INFOS or (info in OUTPUT_INFOS and not command_first and looks_like_manifest(text)):
        if looks_like_manifest(text):
            return Step("manifest", block, manifest_text=text, manifest_line=block.content_line)
        return Step("snippet", block, manifest_text=text, language="yaml")
    if info in SNIPPET_INFOS or (not info and re.match(r"^\[[^\]]+\]\s*$", nonblank[0].strip())):
        return Step("snippet", block, manifest_text=text, language=info or "toml")
    if any(is_prompt_line(l) for l in nonblank) and not nonblank[0].strip().startswith("$ ") \
            and is_prompt_line(nonblank[0]):
        return Step("transcript", block, commands=_transcript(block))
    if info not in MANIFEST_INFOS and _follows_a_command(previous) and OUTPUT_INTRO.search(block.intro) \
            and (not _looks_like_command(first) or ASSIGNMENT.match(first)) and not first.startswith(("$ ", "#")):
        # "The output is:" then a block marked `shell` that holds no command: the page's markup slipped
        return Step("output", block, expected=text.strip("\n"))
    code = [l.strip() for l in nonblank if not l.strip().startswith("#")]
    if info in COMMAND_INFOS and code and not _plausible_command(code[0]):
        # a `shell` block that holds no command: output, YAML or an illustration marked as shell
        if _follows_a_command(previous):
            return Step("output", block, expected=text.strip("\n"))
        if all(YAML_KEY.match(l) or l.startswith("- ") for l in code):
            return Step("snippet", block, manifest_text=text, language="yaml")
        return Step("illustrative", block, expected=text, problem="marked as shell, but holds no command")
    if info in COMMAND_INFOS or _looks_like_command(nonblank[0].strip()) or nonblank[0].strip().startswith("$ "):
        commands = _command_block(block)
        if commands:
            return Step("command", block, commands=commands)
    if _follows_a_command(previous):
        return Step("output", block, expected=text.strip("\n"))
    return Step("illustrative", block, expected=text)


# what a command's first word looks like: a lower-case name or a path, not "NAME", "key:" or "1,"
PLAUSIBLE_COMMAND = re.compile(r"^(?:[a-z_./~][\w.+/~-]*|\$\s.*|[A-Za-z_]\w*=.*)(?:\s|$)")


def _plausible_command(line: str) -> bool:
    first = line.split()[0] if line.split() else ""
    return first in KNOWN_COMMANDS or bool(PLAUSIBLE_COMMAND.match(line)) and not first.endswith((":", ","))


def _is_manifest_file(name: str) -> bool:
    return not name or name.lower().endswith((".yaml", ".yml", ".json"))


def _language_of_file(name: str) -> str:
    """dockerfile for Dockerfile, else the file's extension (conf, js, ini...)."""
    base = name.rsplit("/", 1)[-1]
    if base.lower() in ("dockerfile", "containerfile") or base.lower().startswith("dockerfile."):
        return "dockerfile"
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def _follows_a_command(previous: Step | None) -> bool:
    return previous is not None and previous.kind in ("command", "transcript") and bool(previous.commands)


def _prints_yaml(previous: Step | None) -> bool:
    """The step before ends with a command that prints an object as YAML or JSON."""
    if not _follows_a_command(previous):
        return False
    assert previous is not None
    argv = previous.commands[-1].argv or []
    return any(re.fullmatch(r"(?:-o|--output)=?(?:yaml|json)|-o(?:yaml|json)", a) for a in argv) or \
        any(a in ("-o", "--output") and b in ("yaml", "json") for a, b in itertools.pairwise(argv))


def steps_for(blocks: list[Block]) -> list[Step]:
    steps: list[Step] = []
    for block in blocks:
        step = classify(block, steps[-1] if steps else None)
        previous = steps[-1] if steps else None
        if step.kind == "output" and previous is not None and previous.kind == "transcript" \
                and previous.commands and not previous.commands[-1].expected:
            # the transcript's last command shows no output because the next block is its output
            previous.commands[-1].expected = None
        steps.append(step)
    return steps
