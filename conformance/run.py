"""The page run: steps executed in page order against a runtime, with page-wide state.

Page-wide state is what a reader carries from one block to the next: the pods created,
the open container session, the bindings of documented values (PIDs) to real ones, files
written by heredocs, and the last command's output (for "The output is similar to:"
blocks). Each step ends in one Outcome; an operation that fails (a command errors, a pod
never runs, a session cannot open) blocks the runtime steps after it.
"""
from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .claims import broken_claims, find_claims
from .compare import Bindings, UnboundPlaceholder, compare_output
from .kubectl_args import KUBECTL_READ_ONLY, SHELL_NAMES, KubectlArgs, opens_session
from .kubectl_run import RunPod, pod_from_kubectl_run
from .manifests import (
    PLACEHOLDER_VALUE,
    Heredoc,
    ManifestReport,
    looks_like_manifest,
    validate_manifest,
)
from .page_facts import container_commands, object_names, shown_file_name
from .pages import EXAMPLES_URL_RE, Page
from .runtime import (
    Capability,
    ExecResult,
    PodRef,
    Runtime,
    RuntimeLimit,
    RuntimeUnavailable,
    Session,
    StepError,
    Typed,
)
from .runtime.images import ImageUnavailable
from .runtime.podman_manifest import kubectl_config_file
from .snippets import check_snippet
from .steps import Command, Step
from .typing import PrintedCommand
from .verdict import Outcome, Verdict, combine

# read-only commands: looking again a moment later is what a reader does when output lags
READ_ONLY = {"ps", "cat", "head", "tail", "ls", "grep", "df", "free", "hostname", "id", "env",
             "printenv", "echo", "top", "uname", "date", "mount", "find", "stat", "wc", "nslookup"}
# tools that fetch from other hosts; a pod without a network cannot run them
PACKAGE_MANAGERS = {"apt-get", "apt", "yum", "dnf", "apk", "zypper", "pip", "pip3", "npm", "gem"}
DOWNLOADERS = {"curl", "wget"}
LOCAL_URL = re.compile(r"^(?:https?://)?(?:localhost|127\.\d+\.\d+\.\d+|\[::1\])(?:[:/]|$)")
NOT_FOUND = re.compile(r": (?:command )?not found\s*$", re.MULTILINE)
# a placeholder in a command: the manifest kind ($VAR, <name>) or an upper-case option value
# (--docker-username=DOCKER_USER)
PLACEHOLDER = re.compile(PLACEHOLDER_VALUE.pattern + r"|=[A-Z][A-Z0-9_]{2,}\b")
# a placeholder in a command typed at a container prompt: `<pid>`, `<pod-name>` (one word, so
# that shell redirections such as `cmd < in > out` are not taken for one)
TYPED_PLACEHOLDER = re.compile(r"<[A-Za-z][\w.-]*>")
SESSION_TIMEOUT = 20.0
CHECKED_VERDICTS = (Verdict.PASS, Verdict.DRIFT, Verdict.FAIL)
RETRY_WINDOW = 5.0


class NotOnThisPage(Exception):
    """A command names something no step of the page creates (e.g. "suppose a Pod my-pod")."""


class PageRun:
    def __init__(self, page: Page, runtime: Callable[[], Runtime], *, strict: bool = False,
                 runtime_name: str = "podman", validation_versions: list[str] | None = None):
        self.page = page
        self._runtime_factory = runtime
        self._runtime: Runtime | None = None
        self.strict = strict
        self.runtime_name = runtime_name
        self.validation_versions = validation_versions
        self.bindings = Bindings()
        self.session: Session | None = None
        self.session_target = ""
        # a session the page opens that is not open here: "line N (`kubectl exec ...`): why"
        self.session_wanted: str | None = None
        self.step: Step | None = None                # the step being run
        self.printed: list[PrintedCommand] = []      # each command that ran: line, text, output
        self.current: Command | None = None          # the command being run
        self.host_skips: list[tuple[int, str]] = []  # host commands that did not run: (line, text)
        self.shown_since_apply: tuple[int, str] | None = None   # the last manifest shown, not applied yet
        self.saved_notes: list[str] = []
        self.container_commands: dict[str, dict[str, list[str]]] = {}   # pod -> container -> argv
        self.pods: dict[str, PodRef] = {}
        self.failure: str | None = None          # "line 38: kubectl apply failed" once an operation failed
        self.gate: str | None = None             # skip reason for every runtime step (version gate)
        self.unavailable: str | None = None      # an image this runtime cannot have: later runtime steps skip
        self.last: tuple[Command, Outcome, str | None] | None = None
        self.last_signal_at = float("-inf")     # when the page last sent a signal (kill)
        self.rerun: Callable[[], _Result] | None = None   # runs the last command again, if read-only
        self.workdir = Path(tempfile.mkdtemp(prefix="conformance-page-"))
        self.manifest_reports: list[tuple[int, ManifestReport]] = []
        self.not_created: dict[str, str] = {}     # object name -> why the step creating it was skipped
        self.skipped_installs: list[str] = []     # "line N" of package installs that could not run
        # examples file name -> (copy in the work folder, page line) of a manifest the page shows
        # inline under that name: it stands for https://k8s.io/examples/<name> when the tree lacks it
        self.shown_manifests: dict[str, tuple[Path, int]] = {}
        # page path hash + a per-run part: the same page can run twice at once on one cluster
        digest = hashlib.sha1(f"{page.path}{os.getpid()}{time.time_ns()}".encode()).hexdigest()[:6]
        slug = re.sub(r"[^a-z0-9-]+", "-", f"{page.language or 'xx'}-{page.path.stem}".lower())
        self.namespace = f"conformance-{slug}"[:50].rstrip("-") + f"-{digest}"

    # ---------------------------------------------------------------- runtime access
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = self._runtime_factory()
            self._check_gate(self._runtime)
        return self._runtime

    def _check_gate(self, runtime: Runtime) -> None:
        needed = self.page.front_matter.min_server_version
        if not needed:
            return
        server = runtime.server_version()
        if server is not None and server < needed:
            self.gate = (f"page needs Kubernetes v{needed[0]}.{needed[1]} or newer "
                         f"(min-kubernetes-server-version); the server is v{server[0]}.{server[1]}")

    # ---------------------------------------------------------------- steps
    def run(self, step: Step) -> Outcome:
        self.step = step
        outcome = self._run(step)
        if step.kind in ("manifest", "snippet") and not outcome.checked and outcome.verdict in CHECKED_VERDICTS:
            outcome.checked = "validated"
        if outcome.verdict == Verdict.FAIL and step.kind in ("command", "transcript", "output"):
            # on a cluster, what the pods say goes into the failed block's report
            runtime = self._runtime
            if runtime is not None and runtime.can(Capability.DIAGNOSTICS) and self.pods:
                notes = "\n".join(runtime.diagnostics(pod) for pod in self.pods.values())
                outcome.diff = "\n".join(x for x in (outcome.diff, notes) if x)
        return outcome

    def _run(self, step: Step) -> Outcome:
        handler: Callable[[Step], Outcome] = getattr(self, f"_run_{step.kind}")
        try:
            return handler(step)
        except NotOnThisPage as err:
            return Outcome.skipped(str(err))
        except ImageUnavailable as err:
            # no registry and no offline recipe: the pod cannot start here; not the page's fault
            self.unavailable = f"line {step.line}: {_first_clause(str(err))}"
            return Outcome(Verdict.SKIP, [f"cannot run here: {err}"], getattr(err, "diagnostics", ""))
        except RuntimeLimit as err:
            # beyond this runtime (a kind it cannot create, host access it refuses): nothing of the
            # manifest was created; later steps naming its objects or needing its pods skip, pointing here
            for name in err.objects:
                self.not_created.setdefault(name, f"line {step.line}: {err.reason}")
            if err.pods:
                self.unavailable = f"line {step.line}: {_first_clause(err.reason)}"
            return Outcome(Verdict.SKIP, [f"cannot run on this runtime: {err.reason}"], err.diagnostics)
        except RuntimeUnavailable:
            raise
        except StepError as err:
            self.failure = f"line {step.line}: {err}"
            outcome = Outcome(Verdict.FAIL, [str(err)], err.diagnostics)
            if self.current is not None:
                # an output block after it belongs to this command, not to the one before
                self.last, self.rerun = (self.current, outcome, None), None
            return outcome

    def _run_problem(self, step: Step) -> Outcome:
        return Outcome.failed(f"{self.page.path}:{step.line}: {step.problem}")

    def _run_illustrative(self, step: Step) -> Outcome:
        return Outcome.skipped(f"illustrative: {step.problem or 'no command on the page produces this text'}")

    def _run_snippet(self, step: Step) -> Outcome:
        if step.manifest_file:
            path = self.page.resolve_example(step.manifest_file)
            if path is None:
                dirs = ", ".join(str(d) for d in self.page.examples_dirs) or "(no examples folder found)"
                return Outcome.failed(f"{step.block.info} file {step.manifest_file!r} not found in {dirs}")
            return check_snippet(path.read_text(encoding="utf-8"), step.language or None)
        return check_snippet(step.manifest_text, step.language or None, first_line=step.block.content_line)

    def _run_manifest(self, step: Step) -> Outcome:
        if step.problem:
            return Outcome.failed(step.problem)
        text, first_line, source = step.manifest_text, step.manifest_line or 1, f"{self.page.path}"
        if step.manifest_file:
            path = self.page.resolve_example(step.manifest_file)
            if path is None:
                dirs = ", ".join(str(d) for d in self.page.examples_dirs) or "(no examples folder found)"
                return Outcome.failed(f"{step.block.info} file {step.manifest_file!r} not found in {dirs}")
            text, first_line, source = path.read_text(encoding="utf-8"), 1, str(path)
        report = validate_manifest(text, versions=self.validation_versions, strict=self.strict,
                                   first_line=first_line, source=source)
        self.manifest_reports.append((step.line, report))
        outcome = report.outcome(self.strict)
        if not step.manifest_file and not report.yaml_error and not report.elided:
            self._remember_shown_manifest(step, text)
            self.shown_since_apply = (step.line, text)
        # an elided fragment is not a whole object: the server would judge it as one
        if outcome.verdict in (Verdict.PASS, Verdict.DRIFT) and not report.elided:
            outcome = combine([outcome, self._server_dry_run(text)])
        return outcome

    def _remember_shown_manifest(self, step: Step, text: str) -> None:
        """A manifest shown inline with its examples file name on the line just above it
        (`pods/share-process-namespace.yaml`, as rendered pages show it): kept in the work
        folder under that name, for a later `kubectl apply -f https://k8s.io/examples/<name>`."""
        name = shown_file_name(self.page.text, step.line)
        if not name:
            return
        copy = self.workdir / "shown" / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        self.shown_manifests[name] = (copy, step.line)

    def _shown_manifest(self, relative: str) -> Path | None:
        relative = relative.lstrip("/")
        found = self.shown_manifests.get(relative)
        if found is None:
            # the page may show only the base name (deployment.yaml for application/deployment.yaml)
            same = [v for k, v in self.shown_manifests.items() if "/" not in k and k == Path(relative).name]
            found = same[0] if len(same) == 1 else None
        return found[0] if found else None

    def _server_dry_run(self, text: str) -> Outcome:
        """On a real cluster the API server has the last word: kubectl apply --dry-run=server."""
        runtime = self.runtime()
        if not runtime.can(Capability.SERVER_DRY_RUN) or self.gate:
            return Outcome.passed()
        result = runtime.dry_run(text, self.namespace)
        if result.status != 0:
            return Outcome.failed(f"server-side dry run on {runtime.name}: "
                                  f"{(result.stderr or result.stdout).strip()}")
        return Outcome.passed(f"server-side dry run on {runtime.name} accepted it")

    def _run_output(self, step: Step) -> Outcome:
        if self.last is None:
            return Outcome.skipped("output of a command that did not run on this page")
        command, outcome, actual = self.last
        if outcome.verdict == Verdict.FAIL and actual is None:
            return Outcome(Verdict.BLOCKED, [(f"output of line {command.line}, whose command failed: "
                                             f"{_first_clause(outcome.reason)}")])
        if outcome.verdict in (Verdict.PASS, Verdict.DRIFT) and actual is None:
            return Outcome.skipped(f"output of line {command.line} (`{command.text}`), which ran; what kubectl "
                                   f"prints for it is not shown by {self._runtime_name()}")
        if outcome.verdict in (Verdict.SKIP, Verdict.BLOCKED) or actual is None:
            verdict = Verdict.BLOCKED if outcome.verdict == Verdict.BLOCKED else Verdict.SKIP
            return Outcome(verdict, [f"output of line {command.line}, which did not run: {outcome.reason}"])
        # "The output is similar to:" after a read-only command: look again (bounded) while
        # the output lags, as a reader would; bindings change only for the accepted look
        rerun = self.rerun
        deadline = time.monotonic() + (RETRY_WINDOW if rerun else 0)
        drift_deadline = time.monotonic() + (1.0 if rerun and self._signalled_recently() else 0)
        previous: list[str] | None = None
        while True:
            bindings = copy.deepcopy(self.bindings)
            outcome = compare_output(step.expected, actual, bindings, command=command.text,
                                     line=step.block.content_line)
            outcome = self._check_claims(step, step.expected, actual, outcome, bindings)
            outcome.checked = "compared"
            if rerun is None or not _look_again(outcome, previous, deadline, drift_deadline):
                self.bindings = bindings
                return outcome
            previous = outcome.reasons
            time.sleep(0.3)
            result = rerun()
            actual = result.stdout

    def _check_claims(self, step: Step, expected: str, actual: str, outcome: Outcome,
                      bindings: Bindings) -> Outcome:
        """Values the sentences around the block state must be in what was seen (see claims.py)."""
        claims = find_claims([step.block.intro, step.block.outro], expected)

        def stands_for(value: str) -> set[str]:
            return {real for b in bindings if b.documented == value for real in b.real}

        broken = broken_claims(claims, actual, stands_for)
        if not broken:
            return outcome
        reasons = [f"the page says {c.value} ({c.sentence!r}), but {c.value} is not in what was seen"
                   for c in broken]
        return Outcome(Verdict.FAIL, reasons + outcome.reasons, outcome.diff, outcome.checked)

    def _signalled_recently(self) -> bool:
        return time.monotonic() - self.last_signal_at < RETRY_WINDOW

    def _run_command(self, step: Step) -> Outcome:
        outcomes = [self._remember(c, self._run_one(c)) for c in step.commands]
        # manifests inside heredocs are validated whether or not the command can run here
        checks = [self._validate_heredoc(c, h) for c in step.commands for h in c.heredocs
                  if looks_like_manifest(h.body)]
        if not checks:
            return combine(outcomes)
        return combine(outcomes + checks)

    def _validate_heredoc(self, command: Command, heredoc: Heredoc) -> Outcome:
        report = validate_manifest(heredoc.body, versions=self.validation_versions, strict=self.strict,
                                   first_line=command.line + heredoc.body_line_offset - heredoc.command_line_offset,
                                   source=str(self.page.path))
        self.manifest_reports.append((command.line, report))
        return report.outcome(self.strict)

    def _run_transcript(self, step: Step) -> Outcome:
        return combine([self._remember(c, self._run_one(c, typed=True)) for c in step.commands])

    def _remember(self, command: Command, result: tuple[Outcome, str | None]) -> Outcome:
        outcome, actual = result
        if actual is None:
            self.rerun = None
        else:
            # what the command really printed, for `conformance run --record` (recorded fixtures)
            self.printed.append({"line": command.line, "command": command.text, "output": actual})
        self.last = (command, outcome, actual)
        return outcome

    # ---------------------------------------------------------------- one command
    def _run_one(self, command: Command, typed: bool = False) -> tuple[Outcome, str | None]:
        self.current = command
        opens = command.tool == "kubectl" and bool(command.argv) and opens_session(
            KubectlArgs.parse(command.argv or []), debug=True)
        try:
            outcome, actual = self._dispatch(command, typed)
        except StepError as err:
            if opens:     # what the page types next belongs to this session, which failed
                self.session_wanted = f"line {command.line} (`{command.text}`): {err}"
            raise
        if opens:
            self.session_wanted = (None if outcome.verdict == Verdict.PASS
                                   else f"line {command.line} (`{command.text}`): {outcome.reason}")
        return outcome, actual

    def _dispatch(self, command: Command, typed: bool) -> tuple[Outcome, str | None]:
        host = (not typed and self.session is None and not self.session_wanted
                and command.tool not in ("kubectl", "cat", "exit"))
        if host and not self._fetches_example(command):
            # what could not run here anyway says so, even after a failed step
            reason = command.problem if command.argv is None else (
                f"`{command.tool}` runs on the reader's machine; the suite runs no host shell "
                "(only kubectl and container sessions)")
            self.host_skips.append((command.line, command.text))
            return Outcome.skipped(f"line {command.line}: {reason}"), None
        if self.failure:
            return Outcome(Verdict.BLOCKED, [f"an earlier step failed ({self.failure})"]), None
        if host:
            return self._download_example(command), None
        if self.unavailable and (command.tool == "kubectl" or typed or self.session is not None):
            return Outcome.skipped(f"the page's pod could not start here ({self.unavailable})"), None
        if command.argv is None and not typed:
            return Outcome.skipped(f"line {command.line}: {command.problem}"), None
        tool = command.tool
        if tool == "kubectl":
            return self._kubectl(command)
        if tool == "cat" and command.heredocs and command.heredocs[0].target:
            return self._write_heredoc(command), None
        if self.session is not None:
            return self._type(command)
        if self.session_wanted:
            # the page typed this in a container session that could not open here
            where = self.session_wanted
            if command.tool == "exit":
                self.session_wanted = None
            return Outcome.skipped(f"line {command.line}: typed in the container session opened at {where}"), None
        if typed:
            return Outcome.skipped(f"line {command.line}: typed at a container prompt, but the page "
                                   "opened no container session before it"), None
        return Outcome.skipped(f"line {command.line}: `{tool}` runs on the reader's machine; the suite "
                               "runs no host shell (only kubectl and container sessions)"), None

    def _fetches_example(self, command: Command) -> str | None:
        """`wget -O f https://k8s.io/examples/x.yaml`, `curl -LO ...`: the examples URL it fetches."""
        if command.tool not in DOWNLOADERS or command.problem or not command.argv:
            return None
        urls = [a for a in command.argv[1:] if EXAMPLES_URL_RE.match(a)]
        return urls[0] if len(urls) == 1 else None

    def _download_example(self, command: Command) -> Outcome:
        """The reader downloads an example: the suite copies it from the examples tree (no network)."""
        url = self._fetches_example(command)
        assert url is not None and command.argv
        m = EXAMPLES_URL_RE.match(url)
        source = self.page.resolve_example(m["path"]) if m else None
        if source is None:
            raise StepError(f"line {command.line}: `{command.text}`: {url} is not in the examples tree "
                            f"({', '.join(map(str, self.page.examples_dirs))})")
        argv = command.argv
        named = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-O", "-o", "--output", "--output-document")]
        name = Path(named[0] if named else url.rstrip("/").rsplit("/", 1)[-1]).name
        shutil.copyfile(source, self.workdir / name)
        return Outcome(Verdict.PASS, [(f"`{command.tool}` of {url}: the examples tree's file, as {name} "
                                      "(no network)")], checked="ran")

    def _runtime_name(self) -> str:
        return self._runtime.name if self._runtime is not None else self.runtime_name

    def _write_heredoc(self, command: Command) -> Outcome:
        """`cat <<EOF > pod.yaml`: write the file into the page's work folder, for later steps."""
        heredoc = command.heredocs[0]
        target = self.workdir / Path(heredoc.target).name
        mode = "a" if heredoc.append else "w"
        with target.open(mode, encoding="utf-8") as handle:
            handle.write(heredoc.body if heredoc.body.endswith("\n") else heredoc.body + "\n")
        return Outcome(Verdict.PASS, [f"wrote {heredoc.target} for later steps"], checked="ran")

    def _placeholder(self, command: Command) -> str | None:
        m = PLACEHOLDER.search(command.text)
        if m and not (command.heredocs and m.start() > len(command.text.split("\n")[0])):
            return m.group(0).lstrip("=")
        return None

    def _kubectl(self, command: Command) -> tuple[Outcome, str | None]:
        try:
            outcome, output = self._kubectl_inner(command)
        except NotOnThisPage as err:
            outcome, output = Outcome.skipped(str(err)), None
        if outcome.verdict == Verdict.SKIP:
            # what this command would have created does not exist: later commands that name it
            # skip too, with this reason, instead of failing on a cluster
            for heredoc in command.heredocs:
                for name in object_names(heredoc.body):
                    self.not_created.setdefault(name, f"line {command.line}: {outcome.reason}")
        return outcome, output

    def _kubectl_inner(self, command: Command) -> tuple[Outcome, str | None]:
        placeholder = self._placeholder(command)
        if placeholder:
            return Outcome.skipped(f"placeholder left to the reader: {placeholder}"), None
        holes = [m.group(0) for h in command.heredocs for m in PLACEHOLDER_VALUE.finditer(h.body)]
        if holes:
            return Outcome.skipped("placeholder left to the reader in the manifest: "
                                   + ", ".join(dict.fromkeys(holes))), None
        for word in (command.argv or [])[2:]:
            name = word.split("/", 1)[-1]
            if name in self.not_created:
                return Outcome.skipped(f"{name} was not created ({self.not_created[name]})"), None
        if command.problem:
            return Outcome.skipped(f"line {command.line}: {command.problem}"), None
        assert command.argv is not None     # a command that could not be split has a problem (above)
        runtime = self.runtime()
        if self.gate:
            return Outcome.skipped(self.gate), None
        args = KubectlArgs.parse(command.argv)
        if args.verb == "exec" and not args.command and len(args.positional) > 1:
            # kubectl itself rejects this form before contacting any server
            return Outcome.failed(f"line {command.line}: kubectl rejects `{command.text}`: exec [POD] [COMMAND] "
                                  "is not supported anymore, use exec [POD] -- [COMMAND]"), None
        if args.verb in ("apply", "create") and args.files and args.files != ["-"] and not args.kustomize:
            return self._apply(command, args, runtime), None
        if opens_session(args):
            return self._open_session(command, args, runtime), None
        if not runtime.kubernetes_api:
            made = pod_from_kubectl_run(command.argv) if args.verb == "run" else None
            if made is not None:
                return self._run_pod(made, runtime), None
            if args.verb == "exec" and args.command:
                return self._exec(command, args, runtime)
            if args.verb == "logs" and (args.positional or args.files):
                # `kubectl logs POD [-c C]` (`-f POD` parses as a file): compared with the page's output
                pod = self._pod(args.target or args.files[0])
                return self._retrying(command, lambda: ExecResult(0, runtime.logs(pod, args.container)),
                                      read_only=True)
            config = kubectl_config_file(command.argv, self.workdir)
            if config is not None:
                # `kubectl create configmap|secret generic NAME --from-literal...`: kept for later pods
                runtime.apply(config, self.namespace)
                return Outcome.passed(f"{config.stem} kept for the pods of later steps"), None
            if args.verb == "delete" and args.kind_names:
                return self._delete(args, runtime), None
            heredoc = "heredoc " if command.heredocs else ""
            return Outcome.skipped(f"needs a Kubernetes API (kubectl {args.verb} {heredoc}".rstrip()
                                   + f"); runs on --runtime kind or kubeconfig, not {runtime.name}"), None
        stdin = command.heredocs[0].body if command.heredocs else None
        argv = [a for a in command.argv]
        result = self._retrying(command, lambda: runtime.kubectl(argv, self.namespace, stdin=stdin),
                                read_only=args.verb in KUBECTL_READ_ONLY)
        return result

    def _apply(self, command: Command, args: KubectlArgs, runtime: Runtime) -> Outcome:
        details = []
        for name in args.files:
            path = self._manifest_path(name) or self._saved_by_reader(name)
            makers = [f"line {line}" for line, text in self.host_skips if name.strip("./") in text]
            if path is None and makers and not re.match(r"https?://", name):
                raise NotOnThisPage(f"kubectl {args.verb} -f {name}: not in the examples tree; it would be made "
                                    f"by a step that did not run here ({', '.join(makers[-3:])})")
            if path is None:
                raise StepError(f"kubectl {args.verb} -f {name}: no such file in the examples tree "
                                f"({', '.join(map(str, self.page.examples_dirs))}), written by an earlier step, "
                                "or shown on the page before it")
            pods = self._start_pods(path, runtime)
            shown = [line for copy, line in self.shown_manifests.values() if copy == path]
            source = (f" (not in the examples tree: the manifest the page shows under that name at line "
                      f"{shown[0]})") if shown else ""
            details.append(f"{path.name}{source}: "
                           + (", ".join(f"pod/{p.name} running" for p in pods) or "applied"))
            details += runtime.apply_notes()      # what the runtime changed to play it (e.g. ports)
            self.shown_since_apply = None
        details += self.saved_notes
        self.saved_notes = []
        note = "; ".join(details)
        if command.expected:
            note += f" (the output shown at line {command.expected_line} is kubectl's and was not compared)"
        return Outcome(Verdict.PASS, [note] if note else [], checked="ran")

    def _saved_by_reader(self, name: str) -> Path | None:
        """`kubectl apply -f myapp.yaml` right after the page showed a manifest: the reader saved
        that manifest under this name. The nearest manifest shown since the last apply stands for it."""
        if "/" in name.strip("./") or not name.endswith((".yaml", ".yml", ".json")) or self.shown_since_apply is None:
            return None
        line, text = self.shown_since_apply
        target = self.workdir / "saved" / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        self.saved_notes.append(f"{name} is the manifest the page shows at line {line} (the reader saves it)")
        return target

    def _manifest_path(self, name: str) -> Path | None:
        m = EXAMPLES_URL_RE.match(name)
        if m:
            return self.page.resolve_example(m["path"]) or self._shown_manifest(m["path"])
        if re.match(r"https?://", name):
            return None
        for candidate in (self.workdir / name, self.page.path.parent / name):
            if candidate.is_file():
                return candidate
        return self.page.resolve_example(name) or self._shown_manifest(name)

    def _pod(self, name: str) -> PodRef:
        name = name.split("/", 1)[-1]
        if name not in self.pods:
            known = ", ".join(self.pods) or "none"
            raise NotOnThisPage(f"pod {name!r} is not created by an earlier step of this page (pods: {known}): "
                                "an example for the reader")
        return self.pods[name]

    def _start_pods(self, path: Path, runtime: Runtime) -> list[PodRef]:
        """Apply a manifest file, know its pods (tracked before the wait: removed whatever happens)
        and what their containers run, and wait, bounded, until each runs or has completed."""
        self.container_commands.update(container_commands(path))
        pods = runtime.apply(path, self.namespace)
        for pod in pods:
            self.pods[pod.name] = pod
        for pod in pods:
            runtime.wait_running(pod)
        return pods

    def _run_pod(self, made: RunPod, runtime: Runtime) -> Outcome:
        """`kubectl run`: the Pod kubectl would create, played; with -it, a session on its TTY."""
        import yaml
        path = self.workdir / "kubectl-run" / f"{made.name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(made.manifest, sort_keys=False), encoding="utf-8")
        self._start_pods(path, runtime)
        image = made.manifest["spec"]["containers"][0]["image"]
        notes = [f"kubectl run: pod/{made.name} ({image}) as kubectl would create it"] + runtime.apply_notes()
        if made.interactive and made.name in self.pods:
            if self.session is not None:
                self.session.close()
            self.session = runtime.attach(self.pods[made.name], None)
            self.session_target = f"{made.name}/{made.name}"
            notes.append(f"session open on {self.session_target}")
        return Outcome(Verdict.PASS, ["; ".join(notes)], checked="ran")

    def _open_session(self, command: Command, args: KubectlArgs, runtime: Runtime) -> Outcome:
        if self.session is not None:
            self.session.close()
            self.session = None
        pod = self._pod(args.target)
        try:
            if args.verb == "attach":
                self.session = runtime.attach(pod, args.container)
            else:
                self.session = runtime.exec_session(pod, args.container, args.command)
        except StepError as err:
            why = self._not_a_shell(pod, args) if args.verb == "attach" else None
            if why:
                raise StepError(f"{why}; {err}", err.diagnostics) from None
            raise
        self.session_target = f"{pod.name}/{args.container or 'default container'}"
        return Outcome(Verdict.PASS, [f"session open on {self.session_target}"], checked="ran")

    def _not_a_shell(self, pod: PodRef, args: KubectlArgs) -> str | None:
        """Why attach shows no prompt, read from the manifest: the container's process is no shell."""
        commands = self.container_commands.get(pod.name, {})
        name = args.container or (pod.containers[0] if pod.containers else next(iter(commands), ""))
        argv = commands.get(name)
        if not argv:
            return None          # the image's own command: nothing the manifest says
        if Path(argv[0]).name in SHELL_NAMES and not any(a.startswith("-c") for a in argv[1:]):
            return None
        return (f"container {name!r} runs `{' '.join(argv)}`, not an interactive shell: attach shows no "
                "prompt, so the page's transcript cannot happen")

    def _exec(self, command: Command, args: KubectlArgs, runtime: Runtime) -> tuple[Outcome, str | None]:
        pod = self._pod(args.target)
        offline = self._needs_network(command, args.command)
        if offline:
            return offline, None
        return self._retrying(command, lambda: runtime.exec(pod, args.container, args.command),
                              read_only=args.command[0] in READ_ONLY)

    def _delete(self, args: KubectlArgs, runtime: Runtime) -> Outcome:
        for kind, name in args.kind_names:
            if kind in ("pod", "pods", "po"):
                pod = self._pod(name)
                runtime.delete(pod)
                self.pods.pop(pod.name, None)
            else:
                return Outcome.skipped(f"needs a Kubernetes API (kubectl delete {kind})")
        return Outcome(Verdict.PASS, ["deleted " + ", ".join(n for _, n in args.kind_names)], checked="ran")

    def _type(self, command: Command) -> tuple[Outcome, str | None]:
        """Type a command at the open session's prompt, documented PIDs replaced by real ones."""
        assert self.session is not None
        if command.tool == "exit":
            self.session.close()
            self.session = None
            return Outcome(Verdict.PASS, ["session closed"], checked="ran"), None
        offline = self._needs_network(command)
        if offline:
            return offline, None
        hole = TYPED_PLACEHOLDER.search(command.text)
        if hole:
            # `kill <pid>`: the reader fills it in; typed as is, a shell would read it as redirections
            return Outcome.skipped(f"line {command.line}: placeholder left to the reader: {hole.group(0)}"), None
        try:
            resolved = self.bindings.resolve_command(command.text)
        except UnboundPlaceholder as err:
            return Outcome.failed(f"line {command.line}: {err}"), None
        session = self.session
        outcome, actual = self._retrying(command, lambda: _typed_result(session.type(resolved, SESSION_TIMEOUT)),
                                         read_only=command.tool in READ_ONLY, resolved=resolved)
        if command.tool == "kill":
            self.last_signal_at = time.monotonic()
        return outcome, actual

    def _needs_network(self, command: Command, argv: list[str] | None = None) -> Outcome | None:
        """Installs and downloads from inside a pod that has no network: skipped, and remembered."""
        runtime = self._runtime
        argv = argv if argv is not None else (command.argv or [])
        if runtime is None or runtime.pod_network or not argv:
            return None
        tool = argv[1] if argv[0] == "sudo" and len(argv) > 1 else argv[0]
        remote = tool in DOWNLOADERS and any(a.startswith(("http", "ftp")) or "." in a for a in argv[1:]
                                             if not a.startswith("-")) \
            and not any(LOCAL_URL.match(a) for a in argv[1:] if not a.startswith("-"))
        if tool in PACKAGE_MANAGERS or remote:
            reason = (f"`{' '.join(argv)}` needs network access from the pod ({runtime.name} pods here "
                      "have loopback only)")
            self.skipped_installs.append(f"line {command.line}")
            return Outcome.skipped(reason)
        return None

    def _retrying(self, command: Command, run: Callable[[], _Result], read_only: bool,
                  resolved: str | None = None) -> tuple[Outcome, str | None]:
        """Run, check status, compare with the documented output.

        Read-only commands are run again (bounded) while the comparison fails: a reader who
        sees a worker still restarting looks again. Bindings change only for the accepted try.
        """
        deadline = time.monotonic() + (RETRY_WINDOW if read_only else 0)
        drift_deadline = time.monotonic() + (1.0 if (read_only and self._signalled_recently()) else 0)
        self.rerun = run if read_only else None
        previous: list[str] | None = None
        while True:
            result = run()
            status, output = result.status, result.stdout
            bindings = copy.deepcopy(self.bindings)
            outcome = self._judge(command, status, output, bindings, resolved)
            if not _look_again(outcome, previous, deadline, drift_deadline):
                self.bindings = bindings
                return outcome, output
            previous = outcome.reasons
            time.sleep(0.3)

    def _judge(self, command: Command, status: int | None, output: str, bindings: Bindings,
               resolved: str | None) -> Outcome:
        shown = f" (typed as `{resolved}`)" if resolved and resolved != command.text else ""
        if self.skipped_installs and (status == 127 or NOT_FOUND.search(output)):
            # "command not found" where the page installed tools in steps that could not run here
            return Outcome.skipped(f"`{command.text}`: command not found (the installs at "
                                   f"{', '.join(self.skipped_installs)} could not run here)")
        if status not in (None, 0) and command.expected is None:
            return Outcome(Verdict.FAIL, [f"line {command.line}: `{command.text}`{shown} exited {status}"],
                           _indent(output), checked="ran")
        if command.expected is None:
            return Outcome(Verdict.PASS, [f"`{command.text}`{shown} ran"
                                          + (" (no output documented)" if output.strip() else "")], checked="ran")
        outcome = compare_output(command.expected, output, bindings, command=command.text,
                                 line=command.expected_line)
        if self.step is not None:
            outcome = self._check_claims(self.step, command.expected, output, outcome, bindings)
        outcome.checked = "compared"
        if status not in (None, 0) and outcome.verdict != Verdict.FAIL:
            outcome = Outcome(Verdict.FAIL, [f"`{command.text}`{shown} exited {status}"] + outcome.reasons,
                              outcome.diff or _indent(output), checked="compared")
        elif shown and outcome.verdict != Verdict.PASS:
            outcome.reasons = [f"`{command.text}`{shown}"] + outcome.reasons
        return outcome

    # ---------------------------------------------------------------- end
    def teardown(self) -> None:
        try:
            if self.session is not None:
                self.session.close()
        finally:
            self.session = None
            try:
                if self._runtime is not None:
                    self._runtime.teardown(self.namespace)
            finally:
                shutil.rmtree(self.workdir, ignore_errors=True)


def _look_again(outcome: Outcome, previous: list[str] | None, deadline: float, drift_deadline: float) -> bool:
    """Whether a reader would look again: a fail, until the deadline; a drift shortly after a
    signal, until two looks in a row show the same differences (the output has settled)."""
    now = time.monotonic()
    if outcome.verdict == Verdict.FAIL:
        return now < deadline
    return outcome.verdict == Verdict.DRIFT and now < drift_deadline and outcome.reasons != previous


class _Result(Protocol):
    """What a run of a command leaves to compare: an ExecResult, or a line typed at a session."""

    @property
    def status(self) -> int | None: ...

    @property
    def stdout(self) -> str: ...


@dataclass
class _TypedAsResult:
    status: int | None
    stdout: str


def _typed_result(typed: Typed) -> _TypedAsResult:
    return _TypedAsResult(typed.status, typed.output)


def _first_clause(reason: str) -> str:
    """The cause of a skip, short enough to repeat on every step that it stops."""
    clause = reason.split("; ")[0]
    return clause if len(clause) <= 160 else clause[:159] + "…"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip("\n").split("\n")) if text.strip() else ""


