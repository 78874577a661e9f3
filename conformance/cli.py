"""`conformance`: run pages, merge reports, clean up.

  conformance run [PATH ...] [--runtime podman|kind|kubeconfig] [--lang LANG ...] [--strict]
                  [--json FILE] [--junitxml FILE] [-k EXPR] [kind/kubeconfig options]
  conformance summary REPORT.json ... [--markdown]
  conformance clean
  conformance setup

`run` is pytest with the conformance plugin; extra pytest arguments go after `--`.
Exit status: 0 when no block failed, 1 when one did, 2 for usage errors (a runtime that
cannot run here says what is missing), 4 when pytest itself refused the arguments.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .pages import PageError, discover
from .runtime import RUNTIME_NAMES

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_docs() -> Path:
    """The project's docs/ when run from a checkout, else ./docs."""
    candidate = PROJECT_ROOT / "docs"
    return candidate if candidate.is_dir() else Path.cwd() / "docs"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run pages on a runtime and judge every block")
    run.add_argument("paths", nargs="*", type=Path,
                     help="page files, folders laid out like content/<lang>/docs, or a website checkout "
                          "(default: the project's docs/)")
    run.add_argument("--runtime", choices=RUNTIME_NAMES, default="podman")
    run.add_argument("--lang", action="append", default=[], help="only these languages (repeatable, or a,b)")
    run.add_argument("--strict", action="store_true", help="drift is a failure")
    run.add_argument("--json", type=Path, help="write the JSON report to this file")
    run.add_argument("--junitxml", type=Path, help="write JUnit XML to this file")
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
    if args.strict:
        argv.append("--conformance-strict")
    if args.json:
        argv += ["--conformance-json", str(args.json)]
    if args.junitxml:
        argv += ["--junitxml", str(args.junitxml)]
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
        from .report import merge_summary
        print(merge_summary(args.reports, markdown=args.markdown))
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
    try:
        pages = discover(args.paths or [default_docs()], languages or None)
    except PageError as err:
        print(f"conformance: {err}", file=sys.stderr)
        return 2
    if not pages:
        where = ", ".join(map(str, args.paths or [default_docs()]))
        print(f"conformance: no pages found in {where}"
              + (f" for languages {', '.join(sorted(languages))}" if languages else ""), file=sys.stderr)
        return 2
    import pytest
    code = pytest.main(pytest_args_for(args, pages))
    if code == pytest.ExitCode.USAGE_ERROR:
        return 2
    return 1 if code == pytest.ExitCode.TESTS_FAILED else int(code)


if __name__ == "__main__":
    sys.exit(main())
