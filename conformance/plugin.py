"""The pytest plugin: pages are collected through Sybil, each block one test item.

Use it through `conformance run` or directly: `pytest -p conformance.plugin docs/`.
Sybil finds and orders the blocks (our lexers are its parsers) and keeps one namespace per
page, where the PageRun lives; pytest runs the items in page order and reports them.
Verdicts map onto pytest outcomes: pass and drift pass (drift fails under --strict and is
listed as a warning otherwise), fail fails, skip and blocked skip with their reason.
"""
from __future__ import annotations

import atexit
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sybil import Document, Example, Region, Sybil
from sybil.integration.pytest import SybilFile
from sybil.typing import Parser

from .blocks import Block
from .lex_markdown import lex_markdown
from .lex_rendered import lex_rendered
from .pages import (
    Page,
    PageError,
    PageReadError,
    is_page,
    language_of,
    load_page,
    page_language,
    read_page_text,
)
from .report import BlockRecord, Recorder
from .run import PageRun
from .runtime import Runtime, RuntimeUnavailable, make_runtime
from .steps import Step, steps_for
from .typing import PageRecord
from .verdict import Outcome, Verdict


class DriftWarning(UserWarning):
    """A block whose page point holds but whose details differ."""


class ConformanceState:
    """Run-wide state: options, the runtime, the recorder."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.strict: bool = config.getoption("conformance_strict")
        self.runtime_name: str = config.getoption("conformance_runtime")
        languages = config.getoption("conformance_lang") or []
        self.languages = {lang for item in languages for lang in item.split(",") if lang}
        self.recorder = Recorder()
        self.runtime: Runtime | None = None
        self.runtime_error: str | None = None
        self.explicit = {Path(a.split("::")[0]).resolve() for a in config.args}

    def runtime_options(self) -> dict[str, Any]:
        get = self.config.getoption
        options: dict[str, Any] = {}
        if self.runtime_name == "kind":
            options = {"kubernetes_version": get("conformance_kubernetes_version"),
                       "node_image": get("conformance_node_image"), "cluster": get("conformance_cluster"),
                       "keep_cluster": get("conformance_keep_cluster")}
        elif self.runtime_name == "kubeconfig":
            options = {"context": get("conformance_context"), "kubeconfig": get("conformance_kubeconfig")}
        return {k: v for k, v in options.items() if v not in (None, False)}

    def start_runtime(self) -> Runtime:
        if self.runtime is None:
            runtime = make_runtime(self.runtime_name, **self.runtime_options())
            # close() is due from the moment start() begins: a start cut short (a timeout, Ctrl-C,
            # a lost connection) must not leave a half-made cluster for the next run to reuse
            atexit.register(runtime.close)
            try:
                runtime.start()
            except BaseException:
                atexit.unregister(runtime.close)
                runtime.close()
                raise
            atexit.unregister(runtime.close)
            self.runtime = runtime
            atexit.register(self.close_runtime)
        return self.runtime

    def close_runtime(self) -> None:
        if self.runtime is not None:
            runtime, self.runtime = self.runtime, None
            self.recorder.runtime["images"] = [vars(i) for i in runtime.images()]
            runtime.close()


_STATE_KEY = pytest.StashKey[ConformanceState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "Kubernetes docs conformance")
    group.addoption("--conformance-runtime", default=os.environ.get("CONFORMANCE_RUNTIME", "podman"),
                    choices=("podman", "kind", "kubeconfig"), help="where the pages run (default: podman)")
    group.addoption("--conformance-strict", action="store_true", help="drift fails")
    group.addoption("--conformance-lang", action="append", default=[],
                    help="only pages in these languages (repeat or comma-separate)")
    group.addoption("--conformance-json", default=None, help="write the JSON report here")
    group.addoption("--conformance-record", default=None,
                    help="write what each command of each page printed into this folder (recorded fixtures)")
    group.addoption("--conformance-kubernetes-version", default=None, help="kind: Kubernetes version, e.g. 1.34")
    group.addoption("--conformance-node-image", default=None, help="kind: node image to use instead")
    group.addoption("--conformance-cluster", default=None, help="kind: reuse this cluster (kept)")
    group.addoption("--conformance-keep-cluster", action="store_true", help="kind: do not delete the cluster")
    group.addoption("--conformance-context", default=None, help="kubeconfig: context to use")
    group.addoption("--conformance-kubeconfig", default=None, help="kubeconfig: file to use")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_STATE_KEY] = ConformanceState(config)
    config.addinivalue_line("markers", "conformance: a block of a documentation page")


def _state(config: pytest.Config) -> ConformanceState:
    return config.stash[_STATE_KEY]


# ------------------------------------------------------------------ collection

def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """In a website checkout only content/ holds pages: do not walk node_modules, themes..."""
    parent = collection_path.parent
    website_root = (parent / "content").is_dir() and any(
        (parent / name).exists() for name in ("hugo.toml", "config.toml", "hugo.yaml", "config.yaml"))
    if collection_path.is_dir() and website_root and collection_path.name != "content":
        return True
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> PageFile | None:
    """A page in a docs folder (.md, .markdown, .txt), or any file named on the command line."""
    state = _state(parent.config)
    explicit = file_path.resolve() in state.explicit
    if not (is_page(file_path) or explicit):
        return None
    if state.languages:
        language = page_language(file_path)
        # a file that names no language is in the one language asked for (--lang ja page.txt)
        unnamed_but_asked = language is None and explicit and len(state.languages) == 1
        if language not in state.languages and not unnamed_but_asked:
            return None
    return PageFile.from_parent(parent, path=file_path, sybils=[_sybil(state)])


class PageSybil(Sybil):
    def identify(self, example: Example) -> str:
        step: Step = example.region.parsed
        return f"line {example.line} [{step.kind}]"


def _sybil(state: ConformanceState) -> Sybil:
    # every file is read as a page (PageDocument), whatever its name: a file named on the
    # command line is a page, and Sybil's own Document would crash the run on a bad file
    return PageSybil(parsers=[page_parser], patterns=["*.md", "*.markdown", "*.txt"], teardown=_teardown_page,
                     path="/", document_types={None: PageDocument, ".py": PageDocument})


class PageDocument(Document):
    """A page's text as the suite reads it (pages.read_page_text: UTF-8, BOM and CRLF
    normalised). A file that cannot be read as text is one `problem` item at the line where
    the trouble is, failing with the reason; the other pages of the run are not affected."""

    @classmethod
    def parse(cls, path: str, *parsers: Parser, encoding: str = "utf-8") -> Document:
        try:
            text = read_page_text(Path(path))
        except PageReadError as err:
            document = cls(err.text, path)
            document.namespace["page"] = None
            starts = [0] + [i + 1 for i, c in enumerate(err.text) if c == "\n"]
            start = starts[min(err.line, len(starts)) - 1]
            end = err.text.find("\n", start)
            block = Block(start=start, end=len(err.text) if end < 0 else end, line=err.line,
                          content_line=err.line, source="problem", problem=str(err))
            for step in steps_for([block]):
                document.add(Region(block.start, block.end, parsed=step, evaluator=evaluate))
            return document
        document = cls(text, path)
        for parser in parsers:
            for region in parser(document):
                document.add(region)
        return document


def page_parser(document: Document) -> Iterator[Region]:
    """Sybil parser: every block of the page, lexed and classified, one region each.

    The lexers' Blocks are the regions' lexemes (what the page holds, where); the Step
    classified from them is what the region parses to, and `evaluate` runs it.
    """
    path = Path(document.path)
    try:
        page = load_page(path, text=document.text)
        if page.format == "markdown":
            blocks = lex_markdown(document.text, body_start=page.front_matter.end_offset)
        else:
            blocks = lex_rendered(document.text)
    except PageError as err:
        blocks = [Block(start=0, end=1, line=_line_of(str(err)), content_line=1, source="problem",
                        problem=str(err))]
        page = None
    document.namespace["page"] = page
    for step in steps_for(blocks):
        block = step.block
        yield Region(block.start, block.end, parsed=step, evaluator=evaluate,
                     lexemes={"source": block.source, "info": block.info, "text": block.text,
                              "attrs": block.attrs, "intro": block.intro, "line": block.line})


def _line_of(message: str) -> int:
    import re
    m = re.match(r"[^:]+:(\d+):", message)
    return int(m.group(1)) if m else 1


class PageFile(SybilFile):
    """A page: its blocks are the items; its teardown removes every pod it created."""

    def collect(self) -> list[pytest.Item]:
        items: list[pytest.Item] = list(super().collect())  # type: ignore[no-untyped-call]  # sybil: unannotated
        state = _state(self.config)
        if len(state.languages) == 1:
            # a page that names no language (front matter, path) is in the one language asked for
            for document in self.documents:
                page = document.namespace.get("page")
                if page is not None and page.language is None:
                    page.language = next(iter(state.languages))
        if not items:
            # a page with no code block is still a page of the run: shown as found, 0 blocks
            for document in self.documents:
                page = document.namespace.get("page")
                if page is not None:
                    state.recorder.pages.append(_page_record(page))
        return items


# ------------------------------------------------------------------ evaluation

def _page_run(example: Example) -> PageRun | None:
    namespace = example.namespace
    if "page_run" not in namespace and namespace.get("page") is not None:
        state = namespace["conformance_state"]
        page = namespace["page"]
        namespace["page_run"] = PageRun(page, state.start_runtime, strict=state.strict,
                                        runtime_name=state.runtime_name)
        state.recorder.pages.append(_page_record(page))
    run: PageRun | None = namespace.get("page_run")
    return run


def _page_record(page: Page) -> PageRecord:
    return {"path": _display(page.path), "language": page.language, "title": page.title,
            "feature_state": page.feature_state,
            "min_server_version": (".".join(map(str, page.front_matter.min_server_version))
                                   if page.front_matter.min_server_version else None)}


def evaluate(example: Example) -> str | None:
    step: Step = example.region.parsed
    state: ConformanceState = example.namespace["conformance_state"]
    run = _page_run(example)
    if run is None:
        outcome = Outcome.failed(step.problem or "the page could not be read")
    else:
        outcome = run.run(step)
    page = example.namespace.get("page")
    record = BlockRecord(path=_display(Path(example.path)), line=example.line,
                         language=(page.language if page else language_of(Path(example.path))) or "",
                         kind=step.kind, verdict=outcome.verdict.value, reason=outcome.reason,
                         diff=outcome.diff, checked=outcome.checked)
    state.recorder.add(record)
    example.namespace.setdefault("_records", {})[example.line] = record
    where = f"{record.path}:{record.line}"
    if outcome.verdict == Verdict.FAIL or (outcome.verdict == Verdict.DRIFT and state.strict):
        label = "drift (--strict)" if outcome.verdict == Verdict.DRIFT else "fail"
        return f"{where}: {label}: {outcome.reason}" + (f"\n{outcome.diff}" if outcome.diff else "")
    if outcome.verdict == Verdict.DRIFT:
        warnings.warn(DriftWarning(f"{where}: drift: {outcome.reason}"))
        return None
    if outcome.verdict == Verdict.SKIP:
        pytest.skip(f"{where}: {outcome.reason}")
    if outcome.verdict == Verdict.BLOCKED:
        pytest.skip(f"{where}: blocked: {outcome.reason}")
    return None


def _teardown_page(namespace: dict[str, Any]) -> None:
    run: PageRun | None = namespace.get("page_run")
    if run is not None:
        state: ConformanceState = namespace["conformance_state"]
        for line, report in run.manifest_reports:
            for row in report.table():
                state.recorder.manifests.append({"path": _display(run.page.path), "line": line, **row})
        folder = state.config.getoption("conformance_record")
        if folder and run.printed:
            _write_recording(Path(folder), run, state)
        run.teardown()


def _write_recording(folder: Path, run: PageRun, state: ConformanceState) -> None:
    """tests/data/recorded/<runtime>/<page>.<lang>.json: what each command really printed, with
    the runtime, its images and the date, so that comparison tests use output a runtime produced."""
    import datetime
    import json
    runtime = state.runtime
    record = {"page": _display(run.page.path), "language": run.page.language, "runtime": state.runtime_name,
              "images": [vars(i) for i in runtime.images()] if runtime else [],
              "date": datetime.date.today().isoformat(), "commands": run.printed}
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{run.page.path.name.split('.')[0]}.{run.page.language or 'xx'}.json"
    target.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _display(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@pytest.fixture(scope="session")
def conformance_state(request: pytest.FixtureRequest) -> ConformanceState:
    return _state(request.config)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                   items: list[pytest.Item]) -> None:
    # the state reaches the evaluators through the page namespace (Sybil fills it with fixtures)
    for item in items:
        if hasattr(item, "example") and "conformance_state" not in item.example.namespace:
            item.example.namespace["conformance_state"] = _state(config)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the runtime once, before any page runs: a missing tool is a clear usage error."""
    state = _state(session.config)
    if session.config.option.collectonly or not any(hasattr(i, "example") for i in session.items):
        return
    state.recorder.runtime["name"] = state.runtime_name
    if state.runtime_name == "kind":
        state.recorder.runtime["label"] = f"kind {state.config.getoption('conformance_kubernetes_version') or ''}".strip()
    try:
        state.start_runtime()
    except RuntimeUnavailable as err:
        raise pytest.UsageError(f"--runtime {state.runtime_name}: {err}") from None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    """The verdict and reason as properties of the test case (they reach JUnit XML)."""
    if call.when != "call" or not hasattr(item, "example"):
        return
    record = item.example.namespace.get("_records", {}).get(item.example.line)
    if record is not None and not any(k == "verdict" for k, _ in item.user_properties):
        item.user_properties += [("verdict", record.verdict), ("kind", record.kind), ("reason", record.reason)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
    state = _state(session.config)
    state.close_runtime()
    _compare_translations(state)
    target = session.config.getoption("conformance_json")
    if target:
        state.recorder.write_json(Path(target))


def _compare_translations(state: ConformanceState) -> None:
    """Every translated page that ran, against the English page at the same path."""
    from .translations import compare_with_english
    for page in state.recorder.pages:
        if page["language"] in (None, "", "en"):
            continue
        report = compare_with_english(Path(page["path"]))
        state.recorder.translations.append({"path": page["path"], "language": report.language,
                                            "english": _display(Path(report.english)) if report.english else None,
                                            "same": report.same, "differences": report.differences})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: pytest.ExitCode,
                            config: pytest.Config) -> None:
    state = _state(config)
    if not (state.recorder.blocks or state.recorder.pages):
        return
    terminalreporter.section("conformance: every block and its verdict")
    terminalreporter.write_line(state.recorder.table())
    if state.recorder.manifests:
        terminalreporter.section("conformance: manifests by Kubernetes version")
        terminalreporter.write_line(state.recorder.manifest_table())
    if state.recorder.translations:
        terminalreporter.section("conformance: translations against English (commands, manifests, outputs, gate)")
        for item in state.recorder.translations:
            if item["same"]:
                terminalreporter.write_line(f"{item['path']}: same as {item['english']}")
            else:
                terminalreporter.write_line(f"{item['path']}: " + ("; ".join(item["differences"]) or "differs"))
    images = state.recorder.runtime.get("images") or []
    if images:
        terminalreporter.write_line(f"runtime {state.runtime_name}, images: " +
                                    "; ".join(f"{i['reference']} ({i['source']})" for i in images))
