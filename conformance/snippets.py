"""Configuration snippets that are not manifests, each checked by a parser of its own language.

| language (info string)             | checked with                                                          |
|------------------------------------|-----------------------------------------------------------------------|
| yaml, yml (and no language)        | PyYAML; a kustomization's top-level fields against kustomize's list    |
| toml                               | tomllib (tomli on Python 3.10)                                        |
| json                               | json                                                                  |
| nginx                              | crossplane, nginx's own parser ported to Python: braces, `;`, quoting |
|                                    | and the argument count of every directive nginx knows                 |
| conf                               | nginx syntax when a line ends in `;` or `{` (or is `}`), else as ini  |
| ini, cfg, properties               | configparser (`key = value` / `key: value` under `[section]`s)        |
| xml                                | xml.etree.ElementTree (the standard library's expat)                  |
| dockerfile                         | a structural check: each instruction is one Docker knows, with args   |
| anything else (hcl, ...)           | a skip that names the language: nothing here parses it                |

Excerpts are the rule on the website, so the checks judge what the text shows, not what it
leaves out: nginx directives are not checked against their context (a `location` block is
usually shown without its `server`), ini keys before the first `[section]` are allowed (a
properties file has none), duplicate ini keys are allowed (systemd drop-ins repeat
`ExecStart=`), several top-level XML elements are an excerpt of a document. Lines that stand
for elided parts (`...`, `# ...`) are blanked first, so line numbers stay the snippet's.

Placeholders left to the reader make a snippet a fragment (a skip naming them, after the rest
parsed): `$VAR`, `${VAR}` and `<name>`, except where the language itself uses that syntax
(`$host` is an nginx variable, `$PATH` a Dockerfile one, `<name>` an XML element).

Every failure names the line, counted from `first_line` (the snippet's first line: 1, or its
page line when the caller knows it).
"""
from __future__ import annotations

import configparser
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import crossplane
import yaml

from .verdict import Outcome

try:
    # mypy checks as Python 3.10, where tomllib is not in the standard library (hence the ignore)
    import tomllib  # type: ignore[import-not-found,unused-ignore]  # novermin (3.11+; tomli below on 3.10)
except ModuleNotFoundError:          # Python 3.10: the same parser, published separately
    import tomli as tomllib

# kustomization.yaml top-level fields (kustomize's Kustomization type)
KUSTOMIZE_FIELDS = frozenset([
    "apiVersion", "kind", "metadata", "resources", "bases", "components", "patches", "patchesStrategicMerge",
    "patchesJson6902", "namespace", "namePrefix", "nameSuffix", "commonLabels", "labels", "commonAnnotations",
    "images", "replicas", "configMapGenerator", "secretGenerator", "generatorOptions", "vars", "replacements",
    "crds", "generators", "transformers", "validators", "openapi", "helmCharts", "helmGlobals",
    "buildMetadata", "sortOptions"])

#: Instructions of the Dockerfile reference (MAINTAINER is deprecated, still accepted).
DOCKERFILE_INSTRUCTIONS = frozenset([
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"])

#: Info strings that name the same language.
ALIASES = {"yml": "yaml", "docker": "dockerfile", "containerfile": "dockerfile", "nginxconf": "nginx",
           "nginx.conf": "nginx", "jsonc": "json"}

_DOLLAR = re.compile(r"\$\{?([A-Za-z_]\w*)\}?")
_ANGLE = re.compile(r"<([^<>\n]+)>")
# `<name>` in other languages: no spaces at its ends, so `cat <<EOF > file` is not one
_ANGLE_NAME = re.compile(r"<([A-Za-z][\w. -]*[\w.]|[A-Za-z])>")
_TOML_TABLE = re.compile(r"^\s*\[[^\]]+\]\s*$", re.MULTILINE)


class SnippetError(Exception):
    """What a parser said, at a line counted from 1 in the snippet (None: the parser named none)."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


# ------------------------------------------------------------------ entry point

def check_snippet(text: str, language_hint: str | None = None, first_line: int = 1) -> Outcome:
    """Parse a config snippet in its own language; placeholders make it a fragment (skip)."""
    # imported here: manifests.py re-exports check_snippet, so this module imports it only when called
    from .manifests import ELIDED_NOTE, ELISION, without_elisions
    hint = (language_hint or "").strip().lower()
    language = ALIASES.get(hint, hint)
    if language == "":
        language = "toml" if _TOML_TABLE.search(text) else "yaml"
    if language == "yaml":
        return _check_yaml(text)
    if language == "conf":
        if _nginx_like(text):
            language, how = "nginx", "conf read as nginx syntax (lines end in ';' or '{'): "
        else:
            language, how = "ini", "conf read as ini syntax (no line ends in ';' or '{'): "
    else:
        how = ""
    checker = CHECKERS.get(language)
    if checker is None:
        return Outcome.skipped(f"no parser for {hint!r} snippets: not checked "
                               f"(checked languages: {', '.join(sorted(CHECKERS))}, yaml)")
    name, parse, placeholder_patterns = checker
    elided = bool(ELISION.search(text))
    filled = without_elisions(text) if elided else text
    found = sorted((m.start(), m.group(0)) for pattern in placeholder_patterns for m in pattern.finditer(filled))
    placeholders = [name for _, name in found]
    for pattern in placeholder_patterns:
        filled = pattern.sub(lambda m: re.sub(r"\W+", "_", m.group(1)), filled)
    try:
        what = parse(filled)
    except SnippetError as err:
        where = f"line {first_line + err.line - 1}: " if err.line is not None else ""
        return Outcome.failed(f"{how}{where}not valid {name}: {err.message}")
    if placeholders:
        return Outcome.skipped(f"fragment: placeholders {', '.join(dict.fromkeys(placeholders))} left to the "
                               f"reader; {how}the rest {what}")
    if elided:
        return Outcome.passed(f"{ELIDED_NOTE}; {how}the rest {what}")
    return Outcome.passed(how + what)


def _nginx_like(text: str) -> bool:
    """A `conf` block in nginx syntax: some line ends a directive with `;` or opens/closes a block."""
    for line in text.split("\n"):
        code = line.split("#", 1)[0].strip()
        if code.endswith((";", "{")) or code == "}":
            return True
    return False


# ------------------------------------------------------------------ the languages

def _check_yaml(text: str) -> Outcome:
    """YAML (and a kustomization's top-level fields), as manifests are read."""
    from .manifests import ELIDED_NOTE, ELISION, check_elided_pieces, load_all, without_elisions
    elided = bool(ELISION.search(text))
    placeholders = list(dict.fromkeys(m.group(0) for m in re.finditer(r"\$\{?[A-Za-z_]\w*\}?|<[^<>\n]+>", text)))
    filled = _DOLLAR.sub(r"\1", text)
    filled = _ANGLE.sub(lambda m: re.sub(r"\W+", "_", m.group(1)), filled)
    fragment = (f"fragment: placeholders {', '.join(placeholders)} left to the reader; " if placeholders else "")
    try:
        documents = [d for d in load_all(without_elisions(filled) if elided else filled) if d is not None]
    except yaml.YAMLError as err:
        if not elided or check_elided_pieces(filled):
            mark = getattr(err, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark is not None else ""
            return Outcome.failed(f"{where}not valid YAML: {getattr(err, 'problem', None) or err}")
        return Outcome.passed(f"{ELIDED_NOTE}; the pieces between the '...' lines parse as YAML")
    data = documents[0] if len(documents) == 1 else documents
    if isinstance(data, dict) and (data.get("kind") == "Kustomization" or "resources" in data or "bases" in data):
        unknown = sorted(set(data) - KUSTOMIZE_FIELDS)
        if unknown:
            return Outcome.failed(f"kustomization: unknown fields {', '.join(unknown)}")
        return Outcome.passed("parses as a kustomization")
    if elided and not fragment:
        return Outcome.passed(f"{ELIDED_NOTE}; the rest parses as YAML")
    return Outcome.skipped(fragment + "the rest parses as YAML") if fragment else Outcome.passed("parses as YAML")


def _parse_toml(text: str) -> str:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        message = str(err)
        at = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        if at:
            return _raise(int(at.group(1)), f"{message[:at.start()]} (column {at.group(2)})")
        if message.endswith("(at end of document)"):
            return _raise(text.rstrip("\n").count("\n") + 1, message)
        return _raise(None, message)
    return "parses as TOML"


def _parse_json(text: str) -> str:
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        return _raise(err.lineno, f"{err.msg} (column {err.colno})")
    return "parses as JSON"


def _parse_nginx(text: str) -> str:
    """crossplane (nginx's parser): structure, quoting and each known directive's argument count."""
    with tempfile.TemporaryDirectory(prefix="snippet-") as folder:
        path = Path(folder) / "snippet.conf"
        path.write_text(text)
        # check_ctx off: an excerpt's block is usually shown without its parents; strict off:
        # directives of third-party modules are unknown to crossplane, not wrong
        result = crossplane.parse(str(path), single=True, check_ctx=False, check_args=True, strict=False)
    if result["errors"]:
        first = result["errors"][0]
        message = re.sub(r" in \S*snippet\.conf(:\d+)?$", "", str(first.get("error", "")))
        if not message:
            # crossplane says nothing when the text ends inside a directive or a block
            last = len(text.rstrip("\n").split("\n"))
            return _raise(first.get("line") or last,
                          "unexpected end of the text: a directive without ';' or a block without '}'")
        return _raise(first.get("line"), message)
    return "parses as nginx configuration (crossplane)"


def _parse_ini(text: str) -> str:
    """configparser; keys before the first section are allowed (properties, excerpts)."""
    lines = text.split("\n")
    first = next((line.strip() for line in lines if line.strip() and not line.lstrip().startswith(("#", ";"))),
                 "")
    shift = 0
    if first and not first.startswith("["):
        text, shift = "[snippet]\n" + text, 1
    parser = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=", ":"),
                                       comment_prefixes=("#", ";", "!"))
    try:
        parser.read_string(text)
    except configparser.MissingSectionHeaderError as err:
        return _raise(err.lineno - shift, f"no [section] header before {err.line.strip()!r}")
    except configparser.ParsingError as err:
        line = err.errors[0][0]
        shown = text.split("\n")[line - 1].strip()
        return _raise(line - shift, f"{shown!r} is neither a [section] nor key = value / key: value")
    except configparser.Error as err:
        return _raise(getattr(err, "lineno", None), str(err).split("\n")[0])
    return "parses as ini (configparser)"


def _parse_xml(text: str) -> str:
    """The standard library's XML parser; several top-level elements are an excerpt of a document."""
    try:
        ElementTree.fromstring(text)
    except ElementTree.ParseError as err:
        message = re.sub(r": line \d+, column \d+$", "", str(err))
        line, column = err.position
        if message != "junk after document element" or text.lstrip().startswith("<?xml"):
            return _raise(line, f"{message} (column {column + 1})")
        try:
            ElementTree.fromstring(f"<excerpt>{text}</excerpt>")
        except ElementTree.ParseError as inner:
            line, column = inner.position
            return _raise(line, re.sub(r": line \d+, column \d+$", "", str(inner)) + f" (column {column + 1})")
        return "parses as XML (several top-level elements: an excerpt)"
    return "parses as XML"


_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_]\w*)[\"']?")


def _parse_dockerfile(text: str) -> str:
    """Each instruction (continuation lines joined, heredoc bodies skipped) is one Docker knows, with
    arguments; the first one is FROM (ARG may come before it). Not a build: no image is checked."""
    lines = text.split("\n")
    escape = "\\"
    for line in lines:
        directive = re.fullmatch(r"\s*#\s*escape\s*=\s*(\S)\s*", line)
        if directive:
            escape = directive.group(1)
        elif not re.fullmatch(r"\s*#\s*\w+\s*=.*", line):
            break  # parser directives come only before anything else
    seen_from = False
    index = 0
    while index < len(lines):
        start = index
        stripped = lines[index].strip()
        index += 1
        if not stripped or stripped.startswith("#"):
            continue
        logical = stripped
        while logical.endswith(escape) and index < len(lines):
            following = lines[index].strip()
            index += 1
            if following.startswith("#"):
                continue  # comments inside a continued instruction are removed by Docker
            logical = logical[:-1] + " " + following
        keyword, _, arguments = logical.partition(" ")
        instruction = keyword.upper()
        if instruction not in DOCKERFILE_INSTRUCTIONS:
            return _raise(start + 1, f"unknown instruction {keyword!r} (Docker knows "
                          f"{', '.join(sorted(DOCKERFILE_INSTRUCTIONS))})")
        if not arguments.strip():
            return _raise(start + 1, f"{instruction} needs arguments")
        if not seen_from and instruction not in ("FROM", "ARG"):
            return _raise(start + 1, f"{instruction} before FROM (only ARG may come before the first FROM)")
        seen_from = seen_from or instruction == "FROM"
        for heredoc in _HEREDOC.finditer(arguments if instruction in ("RUN", "COPY", "ADD") else ""):
            while index < len(lines) and lines[index].strip() != heredoc.group(1):
                index += 1
            if index == len(lines):
                return _raise(start + 1, f"heredoc <<{heredoc.group(1)} is never closed")
            index += 1
    if not seen_from:
        return _raise(None, "no FROM instruction")
    return "is a well-formed Dockerfile (instructions Docker knows, each with arguments; not built)"


def _raise(line: int | None, message: str) -> str:
    raise SnippetError(line, message)


#: language -> (its name in messages, parser returning what passed, placeholder patterns filled first)
CHECKERS: dict[str, tuple[str, Callable[[str], str], tuple[re.Pattern[str], ...]]] = {
    "toml": ("TOML", _parse_toml, (_DOLLAR, _ANGLE_NAME)),
    "json": ("JSON", _parse_json, (_DOLLAR, _ANGLE_NAME)),
    "nginx": ("nginx configuration", _parse_nginx, (_ANGLE_NAME,)),
    "ini": ("ini", _parse_ini, (_DOLLAR, _ANGLE_NAME)),
    "cfg": ("ini", _parse_ini, (_DOLLAR, _ANGLE_NAME)),
    "properties": ("properties (ini syntax)", _parse_ini, (_DOLLAR, _ANGLE_NAME)),
    "xml": ("XML", _parse_xml, (_DOLLAR,)),
    "dockerfile": ("Dockerfile", _parse_dockerfile, (_ANGLE_NAME,)),
}
