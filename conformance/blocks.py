"""Blocks: the code of a page, found by a lexer for each page format.

Markdown (Hugo source): fenced blocks at any indentation (list items), with or without
an info string, and the example shortcodes (`codenew`, `code_sample`, `code`, with both
`{{< >}}` and `{{% %}}`). Hugo markup of every generation around them (`{{% capture %}}`
wrappers, `## {{% heading "prerequisites" %}}`, `{{% prerequisites-heading %}}`, HTML
comments) is prose to the lexer: it only matters for the intro text of a block.

Rendered text (what a reader copies from the website): code has no fences, sometimes not
even indentation, so paragraphs are classified by their shape (a prompt, a known command,
YAML, TOML, assignments, or the not-a-sentence text after a sentence ending with ':').
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
SHORTCODE = re.compile(
    r"\{\{(?P<delim>[<%])\s*(?P<name>codenew|code_sample|code)\s+(?P<args>[^}]*?)\s*[>%]\}\}")
SHORTCODE_ARG = re.compile(r'(?P<key>[\w-]+)\s*=\s*"(?P<value>[^"]*)"')
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


@dataclass
class Block:
    start: int            # character offsets of the whole block in the page (Sybil region)
    end: int
    line: int             # 1-based line where the block starts (fence, shortcode or first code line)
    content_line: int     # 1-based page line of text's first line
    source: str           # "fenced" | "shortcode" | "rendered" | "problem"
    info: str = ""        # the fence's info string, e.g. "shell"; "" when none
    text: str = ""        # the code, dedented
    intro: str = ""       # the prose just before the block, one line
    attrs: dict = field(default_factory=dict)   # shortcode arguments
    problem: str = ""     # for source == "problem": what is wrong and what was expected


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for m in re.finditer("\n", text):
        starts.append(m.end())
    return starts


def _dedent(lines: list[str], indent: int) -> list[str]:
    out = []
    for line in lines:
        stripped_len = len(line) - len(line.lstrip(" \t"))
        out.append(line[min(indent, stripped_len):])
    return out


def _intro_from(prose_lines: list[str]) -> str:
    """The last prose paragraph before a block, on one line."""
    paragraph: list[str] = []
    for line in reversed(prose_lines):
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.insert(0, line.strip())
    text = HTML_COMMENT.sub("", " ".join(paragraph)).strip()
    return text


# --------------------------------------------------------------------------- Markdown

def lex_markdown(text: str, body_start: int = 0) -> list[Block]:
    """Blocks of a Hugo Markdown page; body_start skips the front matter."""
    blocks: list[Block] = []
    starts = _line_starts(text)
    lines = text.split("\n")
    first = next(i for i, s in enumerate(starts) if s >= body_start) if body_start else 0
    prose: list[str] = []
    # code inside HTML comments is not shown to readers (translations keep the English
    # original there, code blocks included): skip whole comments
    comment_end_line = {}
    for comment in HTML_COMMENT.finditer(text, body_start):
        start_line = text.count("\n", 0, comment.start())
        comment_end_line[start_line] = text.count("\n", 0, comment.end())
    i = first
    while i < len(lines):
        line = lines[i]
        if i in comment_end_line and line.lstrip().startswith("<!--") and comment_end_line[i] > i:
            i = comment_end_line[i] + 1
            continue
        m = FENCE_OPEN.match(line)
        if m:
            fence, indent = m["fence"], len(m["indent"].expandtabs(4))
            close = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")
            j = i + 1
            while j < len(lines) and not close.match(lines[j]):
                j += 1
            if j >= len(lines):
                blocks.append(Block(start=starts[i], end=len(text), line=i + 1, content_line=i + 2,
                                    source="problem", info=m["info"],
                                    problem=f"code fence {fence} opened at line {i + 1} is never closed "
                                            f"(expected a line with {fence} at the end of the block)"))
                return blocks
            content = _dedent(lines[i + 1:j], indent)
            end = starts[j] + len(lines[j])
            blocks.append(Block(start=starts[i], end=end, line=i + 1, content_line=i + 2, source="fenced",
                                info=m["info"].split()[0].strip("{}.") if m["info"].strip() else "",
                                text="\n".join(content), intro=_intro_from(prose)))
            prose = []
            i = j + 1
            continue
        matched = False
        for sm in SHORTCODE.finditer(line):
            matched = True
            attrs = {a["key"]: a["value"] for a in SHORTCODE_ARG.finditer(sm["args"])}
            s = starts[i] + sm.start()
            blocks.append(Block(start=s, end=starts[i] + sm.end(), line=i + 1, content_line=i + 1,
                                source="shortcode", info=sm["name"], attrs=attrs, intro=_intro_from(prose)))
            prose = []
        if not matched:
            prose.append(line)
        i += 1
    return blocks


# --------------------------------------------------------------------------- rendered text

LIST_ITEM = re.compile(r"^\s*(?:\d+\.|•|◦|▪)\s+\S")
# a prompt: "$ ", "# " or a cwd/host before it ("/ # ", "root@pod:/app# ", "~ $ ");
# the prefix must look like one, so "exit # comment" is a command with a comment
PROMPT_LINE = re.compile(r"^(?P<prompt>(?:[\w.-]*[/~@:][\w.@~:/-]*\s?)?[#$])\s+(?P<command>\S.*)$")
YAML_KEY = re.compile(r"^[\w./-]+:(\s|$)")
TOML_TABLE = re.compile(r"^\[[^\]\s][^\]]*\]\s*$")
ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=\S")
# "output" in the website's languages, for intros like "The output is similar to:"
OUTPUT_WORDS = re.compile(
    r"output|sortie|résultat|keluaran|hasil|出力|输出|輸出|结果|출력|salida|resultado|saída|ausgabe|"
    r"вывод|uscita|výstup|wynik|çıktı|вивід|kết quả", re.IGNORECASE)
CODE_CHARS = re.compile(r"[;{}=<>$\[\]()|/\\]|\d")
# Shell tools whose name starts a command line; general, not tied to a page.
KNOWN_COMMANDS = frozenset(["kubectl", "kubeadm", "kubelet", "minikube", "kind", "docker", "podman", "crictl", "ctr", "nerdctl", "helm", "kustomize", "etcdctl", "cat", "echo", "head", "tail", "ls", "ps", "kill", "curl", "wget", "grep", "sed", "awk", "export", "sudo", "apt", "apt-get", "yum", "dnf", "systemctl", "journalctl", "for", "while", "if", "cd", "mkdir", "rm", "cp", "mv", "chmod", "chown", "openssl", "base64", "ssh", "scp", "nslookup", "dig", "ping", "sh", "bash", "git", "make", "go", "python", "python3", "pip", "env", "printf", "touch", "tee", "watch", "jq", "yq", "az", "gcloud", "aws", "eksctl"])


def _is_command_line(stripped: str) -> bool:
    if PROMPT_LINE.match(stripped) and not stripped.startswith("# "):
        return True
    first = stripped.split()[0] if stripped.split() else ""
    return first in KNOWN_COMMANDS or bool(ASSIGNMENT.match(stripped))


def _is_sentence(paragraph: list[str]) -> bool:
    words = " ".join(p.strip() for p in paragraph).split()
    if not words:
        return False
    alphabetic = sum(1 for w in words if re.fullmatch(r"[^\W\d_]+[,.:;!?)]*|\(?[^\W\d_]+", w))
    return len(words) >= 3 and alphabetic / len(words) >= 0.6


def _starts_code(paragraph: list[str]) -> bool:
    first = paragraph[0].strip()
    if _is_command_line(first) or TOML_TABLE.match(first):
        return True
    if YAML_KEY.match(first):
        return len(paragraph) >= 2 or first.split(":")[0] in ("apiVersion", "kind")
    return False


def lex_rendered(text: str) -> list[Block]:
    starts = _line_starts(text)
    lines = text.split("\n")
    # paragraphs: runs of non-blank lines; a list item always starts a new one
    paragraphs: list[tuple[int, int]] = []   # [first line index, last line index]
    current: int | None = None
    for index, line in enumerate(lines):
        if not line.strip():
            if current is not None:
                paragraphs.append((current, index - 1))
                current = None
            continue
        # a list item starts a paragraph; so does a command right after a line ending with ':'
        # (rendered list items run straight into their code: "...must be deleted:\n    kubectl ...")
        if current is not None and (LIST_ITEM.match(line) or (
                lines[index - 1].rstrip().endswith(":") and _is_command_line(line.strip()))):
            paragraphs.append((current, index - 1))
            current = None
        if current is None:
            current = index
    if current is not None:
        paragraphs.append((current, len(lines) - 1))

    blocks: list[Block] = []
    code: list[tuple[int, int]] = []         # paragraphs of the block being built
    previous_prose = ""
    prose_before_block = ""

    def flush() -> None:
        nonlocal code
        if not code:
            return
        first, last = code[0][0], code[-1][1]
        raw = lines[first:last + 1]
        indent = min(len(l) - len(l.lstrip()) for l in raw if l.strip())
        content = [l.rstrip() for l in _dedent(raw, indent)]
        blocks.append(Block(start=starts[first] + indent, end=starts[last] + len(lines[last]),
                            line=first + 1, content_line=first + 1, source="rendered",
                            text="\n".join(content), intro=prose_before_block))
        code = []

    for first, last in paragraphs:
        para = lines[first:last + 1]
        is_list_item = bool(LIST_ITEM.match(para[0]))
        if not is_list_item and _starts_code(para):
            flush()
            prose_before_block = previous_prose
            code = [(first, last)]
            continue
        continuation = (code and not is_list_item and not _is_sentence(para)
                        and (CODE_CHARS.search(" ".join(para)) or para[0].startswith((" ", "\t"))))
        if continuation:
            code.append((first, last))
            continue
        # "The output is similar to:" then text that is not a sentence: that text is output.
        # A bare word after a colon is a heading unless the intro speaks of output.
        after_colon = (not code and previous_prose.rstrip().endswith(":") and not is_list_item
                       and not _is_sentence(para)
                       and (CODE_CHARS.search(" ".join(para)) or OUTPUT_WORDS.search(previous_prose)))
        if after_colon:
            prose_before_block = previous_prose
            code = [(first, last)]
            flush()
            previous_prose = ""
            continue
        flush()
        previous_prose = " ".join(l.strip() for l in para)
    flush()
    return blocks
