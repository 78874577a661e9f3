"""`conformance`: run pages, merge reports, clean up.

  conformance run [PATH|FILE ...] [--runtime podman|kind|kubeconfig] [--lang LANG ...] [--strict]
                  [--json FILE] [--junitxml FILE] [-k EXPR] [kind/kubeconfig options]
  conformance summary REPORT.json ... [--markdown | --pages]
  conformance clean
  conformance setup

`run` is pytest with the conformance plugin; extra pytest arguments go after `--`.
With no PATH it runs the current directory when that is a website checkout (content/<lang>/docs)
or a docs tree, ./docs when there is one, and the project's docs/ otherwise; its first line
says which. A FILE is a page whatever its name (Markdown or rendered text, told by content);
when neither its front matter nor its path names its language, a single --lang names it.
Exit status: 0 when no block failed, 1 when one did, 2 for usage errors (a runtime that
cannot run here says what is missing), 4 when pytest itself refused the arguments.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .pages import LANGUAGE_RE, PageError, discover, language_of
from .runtime import RUNTIME_NAMES

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_docs() -> Path:
    """The project's docs/ when run from a checkout, else ./docs."""
    candidate = PROJECT_ROOT / "docs"
    return candidate if candidate.is_dir() else Path.cwd() / "docs"


def default_target(cwd: Path | None = None) -> tuple[Path, str]:
    """The folder `conformance run` runs when given no path, and why that one.

    The folder the user is in when it is a website checkout (content/<lang>/docs), a docs
    tree (inside content/<lang>/docs or docs/<lang>, or one holding <lang>/ folders), or
    holds docs/; the project's own docs/ otherwise.
    """
    cwd = Path.cwd() if cwd is None else Path(cwd)
    content = cwd / "content"
    if content.is_dir() and any((d / "docs").is_dir() for d in content.iterdir() if LANGUAGE_RE.match(d.name)):
        return cwd, "a website checkout (content/<lang>/docs)"
    if language_of(cwd / "page.md") is not None:
        return cwd, "inside a docs tree"
    if cwd.name in ("docs", "content") and any(d.is_dir() and LANGUAGE_RE.match(d.name) for d in cwd.iterdir()):
        return cwd, "a docs tree (<lang>/ folders)"
    if (cwd / "docs").is_dir():
        return cwd / "docs", "the docs/ folder of the current directory"
    return default_docs(), "the project's docs/ (the current directory has no docs)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run pages on a runtime and judge every block")
    run.add_argument("paths", nargs="*", type=Path,
                     help="page files (any name: Markdown or rendered text, told by content), folders "
                          "laid out like content/<lang>/docs, or a website checkout (default: the current "
                          "directory when it is a checkout or holds docs/, else the project's docs/)")
    run.add_argument("--runtime", choices=RUNTIME_NAMES, default="podman")
    run.add_argument("--lang", action="append", default=[],
                     help="only these languages (repeatable, or a,b); with one language, also the language "
                          "of a page file that names none (front matter language:/lang:, path)")
    run.add_argument("--strict", action="store_true", help="drift is a failure")
    run.add_argument("--json", type=Path, help="write the JSON report to this file")
    run.add_argument("--junitxml", type=Path, help="write JUnit XML to this file")
    run.add_argument("--record", type=Path, help="write what each command printed, page by page, into this "
                                                 "folder (the recorded fixtures of the project's tests)")
    run.add_argument("-k", dest="keyword", help="pytest -k expression to select blocks")
    run.add_argument("-v", "--verbose", action="store_true", help="one line per block as it runs")
    kind = run.add_argument_group("kind")
    kind.add_argument("--kubernetes-version", help="Kubernetes version for the kind cluster, e.g. 1.34")
    kind.add_argument("--node-image", help="kind node image (overrides the version's default)")
    kind.add_argument("--cluster", help="use the kind cluster of this name: reused (and kept) when it exists, created otherwise")
    kind.add_argument("--keep-cluster", action="store_true", help="do not delete the cluster at the end")
    kube = run.add_argument_group("kubeconfig")
    kube.add_argument("--context", help="kubeconfig context")
    kube.add_argument("--kubeconfig", type=Path, help="kubeconfig file")

    summary = sub.add_parser("summary", help="merge JSON reports into one table")
    summary.add_argument("reports", nargs="+", type=Path)
    summary.add_argument("--markdown", action="store_true", help="GitHub markdown table")
    summary.add_argument("--pages", action="store_true",
                         help="one row per page: blocks found, verdict counts, coverage, fails")

    sub.add_parser("clean", help="remove every pod the suite left in its own podman storage")
    sub.add_parser("setup", help="install what the podman runtime needs on this host (as root, with apt-get)")
    return parser


def pytest_args_for(args: argparse.Namespace, pages: list[Path]) -> list[str]:
    # test ids relative to where the user is, or to the pages' common folder when they are elsewhere
    cwd = Path.cwd().resolve()
    inside = all(cwd in p.resolve().parents for p in pages)
    rootdir = cwd if inside else Path(os.path.commonpath([str(p.resolve().parent) for p in pages]))
    argv = ["-p", "conformance.plugin", "-p", "no:cacheprovider", "--rootdir", str(rootdir),
            # the verdict table shows every failure with its diff: pytest's tracebacks would repeat it
            "-c", "/dev/null", "-q" if not args.verbose else "-v", "-rfE", "--tb=no",
            # the verdict table names every drift; pytest's warning list would repeat it
            "-p", "no:warnings",
            "--conformance-runtime", args.runtime]
    for lang in args.lang:
        argv += ["--conformance-lang", lang]
    if args.strict:
        argv.append("--conformance-strict")
    if args.json:
        argv += ["--conformance-json", str(args.json)]
    if args.junitxml:
        argv += ["--junitxml", str(args.junitxml)]
    if args.record:
        argv += ["--conformance-record", str(args.record)]
    if args.keyword:
        argv += ["-k", args.keyword]
    for option, value in (("kubernetes-version", args.kubernetes_version), ("node-image", args.node_image),
                          ("cluster", args.cluster), ("context", args.context),
                          ("kubeconfig", args.kubeconfig)):
        if value:
            argv += [f"--conformance-{option}", str(value)]
    if args.keep_cluster:
        argv.append("--conformance-keep-cluster")
    return argv + list(getattr(args, "pytest_args", [])) + [str(p) for p in pages]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # everything after a lone -- goes to pytest untouched
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    args = build_parser().parse_args(argv)
    args.pytest_args = extra
    if args.command == "summary":
        from .report import merge_summary, pages_table
        print(pages_table(args.reports) if args.pages else merge_summary(args.reports, markdown=args.markdown))
        return 0
    if args.command == "setup":
        from .host import ensure
        return ensure()
    if args.command == "clean":
        from .runtime.podman import cleanup_all
        removed = cleanup_all()
        print(f"removed {len(removed)} pod(s): {', '.join(removed) or 'none'}")
        return 0
    languages = {lang for item in args.lang for lang in item.split(",") if lang}
    if args.paths:
        targets = list(args.paths)
        print(f"conformance: running {', '.join(map(str, targets))}", flush=True)
    else:
        target, why = default_target()
        targets = [target]
        print(f"conformance: running {target} ({why})", flush=True)
    try:
        pages = discover(targets, languages or None)
    except PageError as err:
        print(f"conformance: {err}", file=sys.stderr)
        return 2
    if not pages:
        where = ", ".join(map(str, targets))
        print(f"conformance: no pages found in {where}"
              + (f" for languages {', '.join(sorted(languages))}" if languages else ""), file=sys.stderr)
        return 2
    import pytest
    code = pytest.main(pytest_args_for(args, pages))
    if code == pytest.ExitCode.USAGE_ERROR:
        return 2
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        return 0          # pages without any code block: reported as UNCHECKED, nothing failed
    return 1 if code == pytest.ExitCode.TESTS_FAILED else int(code)


if __name__ == "__main__":
    sys.exit(main())
