"""``media-assets``: run a library through the pipeline, inspect it, or serve the pieces.

Exit codes: 0 everything succeeded, 1 some files failed, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import stamina.instrumentation

from media_assets.cli.library import EXIT_OK, EXIT_USAGE, RunOptions, run_library
from media_assets.settings import (
    Settings,
    load_settings,
    parse_deadlines,
)

_SERVE_HELP = "the local Ittybit-compatible service (see docs/local-service.md)"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def _deadline(text: str) -> dict[str, float]:
    try:
        return parse_deadlines(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    from media_assets.local_ittybit.cli import add_arguments

    parser = argparse.ArgumentParser(
        prog="media-assets",
        description="Turn a media library into derived assets through Ittybit, run by Dagster.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the pipeline on a small generated library")
    demo.add_argument("--engine", choices=("ffmpeg", "simulate"), default="ffmpeg")

    run = commands.add_parser("run", help="register SOURCEs and backfill them through Dagster")
    run.add_argument("sources", nargs="+", metavar="SOURCE", help="folder, JSONL file or URL")
    run.add_argument(
        "--max-in-flight", type=_positive_int, help="remote jobs in flight across runs"
    )
    run.add_argument(
        "--requests-per-second",
        type=_positive_float,
        metavar="RPS",
        help="ceiling on Ittybit API requests per second, per process",
    )
    run.add_argument(
        "--deadline",
        action="append",
        default=[],
        type=_deadline,
        metavar="STAGE=DURATION",
        help="give up a stage after DURATION (90s, 15m, 2h; STAGE 'all' for every stage)",
    )
    run.add_argument("--files-per-run", type=_positive_int, help="files per ranged run")
    run.add_argument("--failed-only", action="store_true", help="re-run failed files only")
    run.add_argument("--force", action="store_true", help="redo stages even when unchanged")
    run.add_argument(
        "--engine",
        choices=("ffmpeg", "simulate"),
        default=None,
        help="engine of a local service this command starts (default ffmpeg)",
    )

    commands.add_parser("status", help="counts by stage and status, from the event log")

    manifest = commands.add_parser("manifest", help="print the manifest")
    manifest.add_argument("--format", choices=("table", "json", "csv"), default="table")
    manifest.add_argument("--summary", action="store_true", help="totals only")
    manifest.add_argument("--rebuild", action="store_true", help="rebuild it from the event log")

    sql = commands.add_parser("query", help="run one SQL statement on the manifest (read-only)")
    sql.add_argument("sql", metavar="SQL", help='e.g. "SELECT * FROM batch_summary"')
    sql.add_argument("--format", choices=("table", "json", "csv"), default="table")

    serve = commands.add_parser("serve-ittybit", help=_SERVE_HELP)
    add_arguments(serve)

    dev = commands.add_parser("dev", help="local service + Dagster UI, sensor on")
    dev.add_argument("--port", type=int, default=3000, help="Dagster UI port")
    return parser


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C, so everything the command started is stopped."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    # Retries are logged by the client already; stamina's hook would print each one again.
    stamina.instrumentation.set_on_retry_hooks([])
    try:
        return _dispatch(args, load_settings())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except ValueError as error:  # settings, or sources that conflict with registered ones
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        if args.requests_per_second is not None:
            settings = settings.model_copy(update={"requests_per_second": args.requests_per_second})
        deadlines = {**settings.deadlines}
        for given in args.deadline:
            deadlines.update(given)
        return run_library(
            RunOptions(
                sources=args.sources,
                max_in_flight=args.max_in_flight,
                files_per_run=args.files_per_run,
                failed_only=args.failed_only,
                force=args.force,
                engine=args.engine,
                deadlines=deadlines,
            ),
            settings,
        )
    if args.command == "demo":
        return _demo(settings, args.engine)
    if args.command == "status":
        return _status(settings)
    if args.command == "manifest":
        return _manifest(settings, args.format, summary=args.summary, rebuild=args.rebuild)
    if args.command == "query":
        return _query(settings, args.sql, args.format)
    if args.command == "serve-ittybit":
        from media_assets.local_ittybit.cli import config_from_args
        from media_assets.local_ittybit.server import serve

        serve(
            config_from_args(
                args,
                default_data_dir=settings.local_service_dir,
                default_output_dir=settings.output_path,
            )
        )
        return EXIT_OK
    if args.command == "dev":
        return _dev(settings, args.port)
    raise AssertionError(args.command)


def _demo(settings: Settings, engine: str) -> int:
    from media_assets.cli.demo_library import make_demo_library

    library = settings.home_dir / "demo-library"
    files = make_demo_library(library)
    print(f"demo library: {len(files)} files in {library}")
    return run_library(RunOptions(sources=[str(library)], engine=engine), settings)


def _status(settings: Settings) -> int:
    from collections import Counter

    from media_assets.cli.home import open_instance
    from media_assets.defs.batch_manifest import collect_results
    from media_assets.manifest.queries import render

    with open_instance(settings) as instance:
        counts = Counter((str(r.stage), str(r.status)) for r in collect_results(instance))
    statuses = ("succeeded", "failed", "not_applicable", "pending")
    rows = [
        {"stage": stage, **{status: counts[(stage, status)] for status in statuses}}
        for stage in dict.fromkeys(stage for stage, _ in counts)
    ]
    print(render(rows, "table") if rows else "no files registered yet")
    return EXIT_OK


def _terminal_width() -> int:
    # Not a terminal (a pipe, a file): wide enough for the overview, narrow enough to read.
    return max(60, shutil.get_terminal_size((120, 24)).columns)


def _manifest(settings: Settings, fmt: str, *, summary: bool, rebuild: bool) -> int:
    from media_assets.cli.home import open_instance
    from media_assets.cli.report import build_manifest
    from media_assets.manifest.queries import (
        OVERVIEW_CUT_FIRST,
        overview,
        read_results,
        read_summary,
        render,
    )

    path = settings.manifest_path
    if rebuild or not path.is_file():
        with open_instance(settings) as instance:
            build_manifest(instance, rebuild=rebuild)
    if summary:
        print(render(read_summary(path), fmt, width=_terminal_width()))  # type: ignore[arg-type]
        return EXIT_OK
    rows = read_results(path)
    if fmt != "table":
        print(render(rows, fmt))  # type: ignore[arg-type]
        return EXIT_OK
    # Every column of every row would be hundreds of characters wide: the table shows where
    # each file stands; json and csv carry everything.
    outputs = None if settings.uses_hosted_api else settings.output_path
    if outputs is not None:
        print(f"outputs under {outputs}/<stage>/<partition_key>/")
    table = overview(rows, outputs)
    print(render(table, "table", width=_terminal_width(), cut_first=OVERVIEW_CUT_FIRST))
    return EXIT_OK


def _query(settings: Settings, sql: str, fmt: str) -> int:
    import duckdb

    from media_assets.manifest.queries import query, render

    try:
        rows = query(settings.manifest_path, sql)
    except (FileNotFoundError, duckdb.Error) as error:  # no manifest yet; SQL it cannot answer
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    width = _terminal_width() if fmt == "table" else None
    print(render(rows, fmt, width=width))  # type: ignore[arg-type]
    return EXIT_OK


def _dev(settings: Settings, port: int) -> int:
    from media_assets.cli.home import open_instance, workspace_file
    from media_assets.cli.services import ittybit_service, serve_dagster_dev

    inbox = settings.watch_path
    inbox.mkdir(parents=True, exist_ok=True)
    settings = settings.model_copy(update={"sensor_running": True})
    with (
        open_instance(settings) as instance,
        ittybit_service(settings, allow_roots=[inbox, Path.cwd()]) as settings,
    ):
        print(f"drop files into {inbox}; the new_uploads sensor picks them up")
        if not settings.uses_hosted_api:
            print(f"outputs are kept in {settings.output_path}; the UI shows them while dev runs")
        print(f"the manifest {settings.manifest_path} follows every run within a minute")
        command = [
            sys.executable,
            "-m",
            "media_assets.instance.dev_server",
            "--workspace",
            str(workspace_file(settings)),
            "--port",
            str(port),
        ]
        return serve_dagster_dev(instance, settings, command)


if __name__ == "__main__":
    sys.exit(main())
