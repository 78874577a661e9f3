"""Manifests checked offline against every Kubernetes version's OpenAPI schema.

The schemas are the ones kubernetes-validate ships (one folder per minor version). Each
version's definitions are loaded once; a document is validated against the definition
whose x-kubernetes-group-version-kind matches its apiVersion and kind. What a version
does not serve is explained from the removal table (conformance/data/removed-apis.yaml),
never passed silently. Unknown fields are found from the same (non-strict) schemas: a
drift by default, a fail under --strict.

Fragments - manifests with placeholders left to the reader ($PRIVATE_IMAGE_NAME, <name>)
or elided parts (`# ...`) - are checked as far as they go: placeholder values and fields
missing because of the elision are not judged, everything else is.
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import jsonschema
import yaml
from jsonschema import ValidationError
from jsonschema import _keywords as schema_keywords
from jsonschema.protocols import Validator

# snippets (TOML, nginx, ini, XML, ...) are checked in snippets.py, each in its own language;
# re-exported here for the callers that import them from this module (the package's own modules import
# them from snippets: mypy --strict counts neither as exported, as snippets imports tomllib without `as`)
from .snippets import check_snippet, tomllib  # type: ignore[attr-defined]  # noqa: F401
from .typing import Documents, JSONDict
from .verdict import Outcome, Verdict
from .versions import KUBERNETES_VERSIONS

DATA = Path(__file__).parent / "data"
# $VAR, ${VAR}, <name>: values the page leaves to the reader
PLACEHOLDER_VALUE = re.compile(r"\$\{?[A-Za-z_]\w*\}?|<[^<>\n]+>")
# a line that stands for parts the page left out: `...`, `# ...`, `- ...`, `…`
ELISION = re.compile(r"^[ \t]*(?:-[ \t]*)?(?:#[ \t]*)?(?:\.\.\.|…)[ \t]*$", re.MULTILINE)
ELIDED_NOTE = "fragment: elided parts not checked"


class TextTimestampLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as the strings the page wrote.

    The API server reads `creationTimestamp: 2024-01-01T00:00:00Z` as a string (the schema
    says string, format date-time); PyYAML's default resolver would make it a datetime.
    """


TextTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_all(text: str) -> Documents:
    """Every YAML document of the text, timestamps kept as strings."""
    return list(yaml.load_all(text, Loader=TextTimestampLoader))


def without_elisions(text: str) -> str:
    """The text with each elision line blanked (line numbers stay those of the page)."""
    return ELISION.sub("", text)


def _elided_segments(text: str) -> list[tuple[int, str]]:
    """The pieces between elision lines: (line offset of the piece, its text dedented).

    A piece that starts deeper than it goes on (the lines after `...` belong to an elided
    parent) is cut where its indentation drops below its first line's.
    """
    import textwrap
    runs: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for index, line in enumerate(text.split("\n")):
        if ELISION.fullmatch(line):
            runs.append((start, current))
            current, start = [], index + 1
        else:
            current.append(line)
    runs.append((start, current))
    pieces: list[tuple[int, str]] = []
    for start, lines in runs:
        while any(x.strip() for x in lines):
            first = next(i for i, x in enumerate(lines) if x.strip())
            lead = len(lines[first]) - len(lines[first].lstrip())
            cut = next((i for i in range(first + 1, len(lines)) if lines[i].strip()
                        and len(lines[i]) - len(lines[i].lstrip()) < lead), len(lines))
            pieces.append((start, textwrap.dedent("\n".join(lines[:cut]))))
            start, lines = start + cut, lines[cut:]
    return pieces


def _yaml_error(err: yaml.YAMLError, first_line: int, source: str) -> str:
    mark = getattr(err, "problem_mark", None)
    line = first_line + mark.line if mark else first_line
    where = f"{source}:{line}" if source else f"line {line}"
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    return (f"{where}: not valid YAML: {problem}" + (f" ({context})" if context else "")
            + " (expected a YAML mapping of Kubernetes fields)")


def check_elided_pieces(text: str, first_line: int = 1, source: str = "") -> str:
    """When the text with its elisions removed is not YAML: each piece between elisions on its own.

    Returns "" when every piece parses (the page's gaps explain the rest), else the first
    piece's error at its page line.
    """
    for offset, piece in _elided_segments(text):
        try:
            load_all(piece)
        except yaml.YAMLError as err:
            return _yaml_error(err, first_line + offset, source)
    return ""


# ------------------------------------------------------------------ schemas

def _schema_root() -> Path:
    import kubernetes_validate
    return Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"


@dataclass
class SchemaSet:
    """One Kubernetes version's definitions, indexed by (group, version, kind)."""

    version: str
    definitions: JSONDict
    by_gvk: dict[tuple[str, str, str], str]

    @functools.cached_property
    def validator_class(self) -> type[Validator]:
        # typeshed leaves extend() unannotated
        extended: type[Validator] = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
            jsonschema.Draft202012Validator, {"properties": _properties_and_unknown})
        return extended

    def validator(self, definition: str) -> Validator:
        schema = {"$defs": self.definitions, "$ref": f"#/$defs/{definition}"}
        return self.validator_class(schema)


@functools.cache
def schema_set(minor: str) -> SchemaSet | None:
    folder = _schema_root() / f"v{minor}.0-local"
    path = folder / "_definitions.json"
    if not path.is_file():
        return None
    definitions = json.loads(path.read_text())["$defs"]
    by_gvk = {}
    for name, definition in definitions.items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []) or []:
            by_gvk[(gvk["group"], gvk["version"], gvk["kind"])] = name
    return SchemaSet(minor, definitions, by_gvk)


@functools.cache
def built_in_groups() -> frozenset[str]:
    groups: set[str] = set()
    for version in KUBERNETES_VERSIONS:
        schemas = schema_set(version.minor)
        if schemas:
            groups.update(g for g, _, _ in schemas.by_gvk)
    groups.update(_split_api_version(r["apiVersion"])[0] for r in removed_apis())
    return frozenset(groups)


@functools.cache
def removed_apis() -> tuple[dict[str, Any], ...]:
    return tuple(yaml.safe_load((DATA / "removed-apis.yaml").read_text()))


def removal(api_version: str, kind: str) -> dict[str, Any] | None:
    for entry in removed_apis():
        if entry["apiVersion"] == api_version and ("*" in entry["kinds"] or kind in entry["kinds"]):
            return entry
    return None


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _minor_tuple(minor: str) -> tuple[int, int]:
    a, b = minor.split(".")[:2]
    return int(a), int(b)


# typeshed types jsonschema's `properties` keyword as returning None; it yields the errors it finds
_schema_properties = cast(Callable[..., Iterator[ValidationError]], schema_keywords.properties)


def _properties_and_unknown(validator: Validator, properties: JSONDict, instance: Any,
                            schema: JSONDict) -> Iterator[ValidationError]:
    """JSON schema `properties`, plus an error for fields the schema does not know."""
    yield from _schema_properties(validator, properties, instance, schema)
    if validator.is_type(instance, "object") and "additionalProperties" not in schema \
            and not schema.get("x-kubernetes-preserve-unknown-fields"):
        for name in instance:
            if name not in properties:
                yield ValidationError(f"unknown field {name!r}", validator="unknown-field", path=[name],
                                      instance=instance[name])


# ------------------------------------------------------------------ results

@dataclass
class VersionResult:
    version: str
    verdict: str          # pass | fail | drift | skip | fragment
    path: str = ""
    message: str = ""


@dataclass
class DocumentReport:
    line: int
    api_version: str = ""
    kind: str = ""
    name: str = ""
    results: list[VersionResult] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    elided: bool = False
    waived: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        what = f"{self.kind or '?'}" + (f" {self.name!r}" if self.name else "")
        return f"{what} ({self.api_version or 'no apiVersion'}, line {self.line})"


@dataclass
class ManifestReport:
    source: str
    first_line: int
    documents: list[DocumentReport] = field(default_factory=list)
    yaml_error: str = ""
    pieces_only: bool = False     # elisions cut the structure: only each piece's YAML was checked

    @property
    def elided(self) -> bool:
        return self.pieces_only or any(d.elided for d in self.documents)

    def outcome(self, strict: bool = False) -> Outcome:
        if self.yaml_error:
            return Outcome.failed(self.yaml_error)
        if self.pieces_only:
            return Outcome.passed(f"{ELIDED_NOTE}; the pieces between the '...' lines parse as YAML, "
                                  "their place in the object is not known, so no schema was checked")
        if not self.documents:
            return Outcome.skipped("empty manifest")
        parts = [_document_outcome(d, strict) for d in self.documents]
        worst = max(parts, key=lambda o: o.verdict.rank)
        if worst.verdict == Verdict.PASS:
            return Outcome(Verdict.PASS, [o.reason for o in parts])
        keep = [o for o in parts if o.verdict == worst.verdict]
        return Outcome(worst.verdict, [r for o in keep for r in o.reasons], "\n".join(o.diff for o in keep if o.diff))

    def table(self) -> list[JSONDict]:
        return [{"document": f"{d.kind}/{d.name}" if d.name else d.kind, "api_version": d.api_version,
                 "document_line": d.line, "versions": {r.version: r.verdict for r in d.results}} for d in self.documents]


def _ranges(versions: list[str]) -> str:
    """['1.25', '1.26', '1.27', '1.30'] -> '1.25-1.27, 1.30' (over the known version list)."""
    known = [v.minor for v in KUBERNETES_VERSIONS]
    spans: list[list[str]] = []
    for v in sorted(versions, key=_minor_tuple):
        if spans and known.index(v) == known.index(spans[-1][-1]) + 1:
            spans[-1].append(v)
        else:
            spans.append([v])
    return ", ".join(s[0] if len(s) == 1 else f"{s[0]}-{s[-1]}" for s in spans)


def _document_outcome(doc: DocumentReport, strict: bool) -> Outcome:
    by_verdict: dict[str, list[VersionResult]] = {}
    for result in doc.results:
        by_verdict.setdefault(result.verdict, []).append(result)
    all_versions = _ranges([r.version for r in doc.results])
    if "fail" in by_verdict:
        groups: dict[tuple[str, str], list[str]] = {}
        for r in by_verdict["fail"]:
            groups.setdefault((r.path, r.message), []).append(r.version)
        reasons = [f"{doc.label}: " + (f"{path}: " if path else "") + f"{message} (on {_ranges(vs)})"
                   for (path, message), vs in groups.items()]
        return Outcome(Verdict.FAIL, reasons)
    if "drift" in by_verdict:
        seen = []
        for r in by_verdict["drift"]:
            text = f"{doc.label}: {r.path}: {r.message}"
            if text not in seen:
                seen.append(text)
        return Outcome(Verdict.DRIFT, [s + " (the API server drops unknown fields; fails with --strict)" for s in seen])
    if "skip" in by_verdict and len(by_verdict["skip"]) == len(doc.results):
        return Outcome.skipped(f"{doc.label}: {by_verdict['skip'][0].message}")
    if "fragment" in by_verdict:
        if not doc.placeholders:
            # only elisions: what the page shows is checked, missing required fields are the gaps
            return Outcome.passed(f"{ELIDED_NOTE}: {doc.label}: the rest validates on {all_versions}")
        what = ["placeholders " + ", ".join(dict.fromkeys(doc.placeholders)) + " left to the reader"]
        if doc.elided:
            what.append("parts elided with '...'")
        return Outcome.skipped(f"fragment: {doc.label}: {'; '.join(what)}; the rest validates on {all_versions}")
    return Outcome.passed(f"{doc.label} validates on {all_versions}")


# ------------------------------------------------------------------ validation

def looks_like_manifest(text: str) -> bool:
    """apiVersion and kind at the top level of a YAML document (placeholders allowed)."""
    return bool(re.search(r"^apiVersion:\s*\S", text, re.MULTILINE) and re.search(r"^kind:\s*\S", text, re.MULTILINE))


def _error_path(error: ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _is_placeholder(value: object) -> bool:
    return isinstance(value, str) and bool(PLACEHOLDER_VALUE.search(value))


def validate_manifest(text: str, *, versions: Sequence[str] | None = None, strict: bool = False,
                      first_line: int = 1, source: str = "") -> ManifestReport:
    report = ManifestReport(source=source, first_line=first_line)
    versions = list(versions or [v.minor for v in KUBERNETES_VERSIONS])
    elided = bool(ELISION.search(text))
    parsed = without_elisions(text) if elided else text
    try:
        nodes = list(yaml.compose_all(parsed, Loader=TextTimestampLoader))
        documents = load_all(parsed)
    except yaml.YAMLError as err:
        if elided:
            # the gaps break the structure (an elided parent, a deeper piece): check each piece
            report.yaml_error = check_elided_pieces(text, first_line, source)
            if not report.yaml_error:
                report.pieces_only = True
            return report
        report.yaml_error = _yaml_error(err, first_line, source)
        return report
    for node, data in zip(nodes, documents):
        if data is None:
            continue
        line = first_line + (node.start_mark.line if node is not None else 0)
        doc = DocumentReport(line=line, elided=elided)
        report.documents.append(doc)
        if not isinstance(data, dict):
            doc.results = [VersionResult(v, "fail", "", "a manifest must be a mapping (apiVersion, kind, ...)")
                           for v in versions]
            continue
        doc.api_version, doc.kind = str(data.get("apiVersion", "")), str(data.get("kind", ""))
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        doc.name = str(meta.get("name", "")) if meta else ""
        doc.placeholders = list(dict.fromkeys(_placeholders_in(data)))
        for version in versions:
            doc.results.append(_validate_one(data, doc, version, strict))
    return report


def _placeholders_in(data: object) -> Iterable[str]:
    """Placeholders in the values (not the keys) of a document."""
    if isinstance(data, dict):
        for value in data.values():
            yield from _placeholders_in(value)
    elif isinstance(data, list):
        for value in data:
            yield from _placeholders_in(value)
    elif isinstance(data, str):
        yield from (m.group(0) for m in PLACEHOLDER_VALUE.finditer(data))


def _validate_one(data: JSONDict, doc: DocumentReport, version: str, strict: bool) -> VersionResult:
    if not doc.api_version or not doc.kind:
        missing = "apiVersion" if not doc.api_version else "kind"
        if doc.elided:
            return VersionResult(version, "fragment", missing, f"{missing} elided")
        return VersionResult(version, "fail", missing, f"no {missing}: not a Kubernetes object")
    schemas = schema_set(version)
    if schemas is None:
        return VersionResult(version, "fail", "", f"no schemas shipped for Kubernetes {version} "
                             "(kubernetes-validate is older than the version list)")
    group, api = _split_api_version(doc.api_version)
    definition = schemas.by_gvk.get((group, api, doc.kind))
    if definition is None:
        gone = removal(doc.api_version, doc.kind)
        if gone and _minor_tuple(version) >= _minor_tuple(gone["removed_in"]):
            return VersionResult(version, "fail", "apiVersion",
                                 f"{doc.api_version} {doc.kind} was removed in Kubernetes {gone['removed_in']}, "
                                 f"use {gone['use']}")
        if group not in built_in_groups():
            return VersionResult(version, "skip", "", f"custom resource {doc.api_version} {doc.kind}: "
                                 "no built-in schema")
        served = sorted((k for k in schemas.by_gvk if k[0] == group and k[1] == api), key=lambda k: k[2])
        if served:
            return VersionResult(version, "fail", "kind", f"{doc.api_version} has no kind {doc.kind!r}")
        return VersionResult(version, "fail", "apiVersion",
                             f"no schema for {doc.api_version} {doc.kind} (a built-in API group)")
    errors = sorted(schemas.validator(definition).iter_errors(data), key=lambda e: list(e.absolute_path))
    unknown: list[ValidationError] = []
    real: list[ValidationError] = []
    for error in errors:
        if _waived(error, doc):
            doc.waived.append(_error_path(error))
            continue
        (unknown if error.validator == "unknown-field" else real).append(error)
    if real:
        first = real[0]
        return VersionResult(version, "fail", _error_path(first), _message(first))
    if unknown:
        path = _error_path(unknown[0])
        message = f"unknown field {path.rsplit('.', 1)[-1]!r}"
        return VersionResult(version, "fail" if strict else "drift", path, message)
    if doc.placeholders or doc.elided:
        return VersionResult(version, "fragment")
    return VersionResult(version, "pass")


def _waived(error: ValidationError, doc: DocumentReport) -> bool:
    # a placeholder value is the reader's to fill in, whatever type the field wants
    if _is_placeholder(error.instance):
        return True
    # required fields missing from an elided manifest were elided, and so was the content
    # of a key left empty just before a `...` line
    return doc.elided and (error.validator == "required" or error.instance in (None, "...", "…"))


def _message(error: ValidationError) -> str:
    if error.validator == "type":
        wanted = error.validator_value
        wanted = [t for t in wanted if t != "null"] if isinstance(wanted, list) else [wanted]
        return f"expected {' or '.join(wanted)}, got {type(error.instance).__name__} {error.instance!r}"[:200]
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {error.validator_value}"[:200]
    return error.message[:200]


# ------------------------------------------------------------------ heredocs

HEREDOC = re.compile(r"<<(?P<dash>-?)\s*(?P<quote>['\"]?)(?P<delim>[A-Za-z_]\w*)(?P=quote)")


@dataclass
class Heredoc:
    command: str              # the command line that opens it
    delimiter: str
    target: str               # file it is redirected to (cat <<EOF > pod.yaml), "" for stdin of a command
    append: bool              # >> rather than >
    body: str
    command_line_offset: int  # line of the command within the block (0-based)
    body_line_offset: int     # line of the body's first line within the block
    body_line_count: int


def extract_heredocs(text: str) -> list[Heredoc]:
    """Heredocs of a shell block: `kubectl apply -f - <<EOF`, `cat <<'EOF' > pod.yaml`, `<<-EOF`..."""
    lines = text.split("\n")
    found: list[Heredoc] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        openers = list(HEREDOC.finditer(line))
        if not openers or line.lstrip().startswith("#"):
            index += 1
            continue
        cursor = index + 1
        for opener in openers:
            delimiter = opener["delim"]
            body: list[str] = []
            while cursor < len(lines):
                candidate = lines[cursor].lstrip("\t") if opener["dash"] else lines[cursor]
                if candidate.strip() == delimiter:
                    break
                body.append(candidate)
                cursor += 1
            redirect = re.search(r"(>>?)\s*(\S+)", line[opener.end():]) or re.search(r"(>>?)\s*(\S+)\s*<<", line)
            found.append(Heredoc(command=line.strip(), delimiter=delimiter,
                                 target=redirect.group(2) if redirect else "",
                                 append=bool(redirect and redirect.group(1) == ">>"),
                                 body="\n".join(body), command_line_offset=index,
                                 body_line_offset=index + 1 if len(found) == 0 or found[-1].command_line_offset != index
                                 else found[-1].body_line_offset + found[-1].body_line_count + 1,
                                 body_line_count=len(body)))
            cursor += 1
        index = cursor
    return found

