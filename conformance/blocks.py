"""Blocks: the code of a page, as the lexers find it, and the shapes of shell text.

A Block is one lexeme of a page: where it is (character offsets for Sybil's region, the
page line), what it holds (the code, dedented), how the page marks it (fence info string,
shortcode arguments) and the prose just before it. Two lexers make them:
`conformance.lex_markdown` (Hugo Markdown, through markdown-it-py) and
`conformance.lex_rendered` (text as rendered by the website, code told by its shape).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


@dataclass
class Block:
    start: int            # character offsets of the whole block in the page (Sybil region)
    end: int
    line: int             # 1-based line where the block starts (fence, shortcode or first code line)
    content_line: int     # 1-based page line of text's first line
    # fenced | indented | shortcode (an examples file) | shortcode-code (highlight, tab codelang)
    # | include (a tab whose content is another file) | rendered | problem
    source: str
    info: str = ""        # the fence's info string, e.g. "shell"; "" when none
    text: str = ""        # the code, dedented
    intro: str = ""       # the prose just before the block, one line
    outro: str = ""       # the prose just after it ("The output shows that ..."), one line
    attrs: dict[str, str] = field(default_factory=dict)   # shortcode arguments
    problem: str = ""     # for source == "problem": what is wrong and what was expected


def line_starts(text: str) -> list[int]:
    starts = [0]
    for m in re.finditer("\n", text):
        starts.append(m.end())
    return starts


def dedent(lines: list[str], indent: int) -> list[str]:
    out = []
    for line in lines:
        stripped_len = len(line) - len(line.lstrip(" \t"))
        out.append(line[min(indent, stripped_len):])
    return out


def intro_from(prose_lines: list[str]) -> str:
    """The last prose paragraph before a block, on one line."""
    paragraph: list[str] = []
    for line in reversed(prose_lines):
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.insert(0, line.strip())
    return HTML_COMMENT.sub("", " ".join(paragraph)).strip()


# --------------------------------------------------------------------------- shell text shapes
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


