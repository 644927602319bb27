"""Command-line flags of the local service, shared by ``python -m`` and ``media-assets``.

``add_arguments`` and ``config_from_args`` let the main CLI offer the same flags under
``media-assets serve-ittybit``; ``config_to_argv`` is their inverse, used to start the service
in a child process. This module knows only the config, so the server can use it without a cycle.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .config import COMPAT_PROFILES, ServiceConfig

# Relative to the working directory. The service reads no environment of the product's: a
# program that keeps its files elsewhere passes its own default to ``config_from_args``.
DEFAULT_DATA_DIR = Path(".media_assets") / "local-ittybit"


def _latency(text: str) -> tuple[float, float]:
    low_text, _, high_text = text.partition(":")
    try:
        low = float(low_text)
        high = float(high_text) if high_text else low
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX seconds, got {text!r}") from None
    if low < 0 or high < low:
        raise argparse.ArgumentTypeError(f"expected 0 <= MIN <= MAX, got {text!r}")
    return (low, high)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, 0 or more, got {text!r}") from None
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds, 0 or more, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the service's flags to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback)")
    parser.add_argument("--port", type=int, default=8787, help="port; 0 picks a free one")
    parser.add_argument("--data-dir", type=Path, default=None, help="jobs database and outputs")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where outputs are written and served from (default: DATA_DIR/files)",
    )
    parser.add_argument("--engine", choices=("ffmpeg", "simulate"), default="ffmpeg")
    parser.add_argument(
        "--compat",
        choices=COMPAT_PROFILES,
        default="local",
        help="hosted: only what Ittybit's hosted API documents (needs a key; no /_local/* "
        "but health, no held waits, no cancel, http(s)/s3 inputs only); default local",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="jobs processed at once (default: CPU count)"
    )
    key = parser.add_mutually_exclusive_group()
    key.add_argument(
        "--api-key",
        default=None,
        help="require Authorization: Bearer KEY (visible in process listings; prefer the file)",
    )
    key.add_argument(
        "--api-key-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="require Authorization: Bearer with the key in FILE (its first line)",
    )
    parser.add_argument(
        "--allow-root",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="folder whose files may be used as file:// inputs (repeatable)",
    )
    parser.add_argument("--public-url", default=None, help="base URL used in output URLs")
    parser.add_argument(
        "--max-wait",
        type=_seconds,
        default=20.0,
        metavar="SECONDS",
        help="longest GET /jobs/{id}?wait= hold (default 20; 0 turns waiting off)",
    )
    simulate = parser.add_argument_group("simulate engine")
    simulate.add_argument(
        "--latency",
        type=_latency,
        default=(0.05, 0.2),
        metavar="MIN:MAX",
        help="seconds per job",
    )
    simulate.add_argument("--fail-rate", type=_fraction, default=0.0, help="fraction of jobs")
    simulate.add_argument("--fail-match", default=None, metavar="REGEX", help="inputs that fail")
    simulate.add_argument(
        "--error-rate", type=_fraction, default=0.0, help="fraction of API requests answered 5xx"
    )
    simulate.add_argument(
        "--rate-limit", type=float, default=None, metavar="RPS", help="429 above this rate"
    )
    simulate.add_argument("--hang-rate", type=_fraction, default=0.0, help="jobs never finishing")
    simulate.add_argument("--seed", type=int, default=None, help="makes a run repeatable")


def config_from_args(
    ns: argparse.Namespace,
    *,
    default_data_dir: Path | None = None,
    default_output_dir: Path | None = None,
) -> ServiceConfig:
    """Build the config from parsed flags; raises ValueError on inconsistent values.

    Without ``--data-dir`` the data lives in ``default_data_dir``, else in ``DEFAULT_DATA_DIR``;
    without ``--output-dir`` outputs go to ``default_output_dir``, else under the data dir.
    """
    data_dir = ns.data_dir or default_data_dir or DEFAULT_DATA_DIR
    output_dir = ns.output_dir or default_output_dir
    return ServiceConfig(
        host=ns.host,
        port=ns.port,
        data_dir=data_dir.expanduser().resolve(),
        output_dir=output_dir.expanduser().resolve() if output_dir is not None else None,
        engine=ns.engine,
        compat=ns.compat,
        workers=ns.workers,
        api_key=_api_key(ns),
        allow_roots=tuple(root.expanduser().resolve() for root in ns.allow_root),
        public_url=ns.public_url,
        max_wait=ns.max_wait,
        latency=ns.latency,
        fail_rate=ns.fail_rate,
        fail_match=ns.fail_match,
        error_rate=ns.error_rate,
        rate_limit=ns.rate_limit,
        hang_rate=ns.hang_rate,
        seed=ns.seed,
    )


def _api_key(ns: argparse.Namespace) -> str | None:
    if ns.api_key_file is None:
        return str(ns.api_key) if ns.api_key is not None else None
    try:
        lines = Path(ns.api_key_file).read_text().splitlines()
    except OSError as error:
        raise ValueError(f"cannot read the API key file {ns.api_key_file}: {error}") from None
    if not lines or not lines[0].strip():
        raise ValueError(f"the API key file {ns.api_key_file} is empty")
    return lines[0].strip()


def config_to_argv(config: ServiceConfig, *, api_key_file: Path | None = None) -> list[str]:
    """The flags that recreate ``config`` in another process.

    The key, if any, travels in ``api_key_file`` (which must hold it), never on the command line
    where every user of the machine can read it.
    """
    if config.api_key is not None and api_key_file is None:
        raise ValueError("a config with an API key needs api_key_file to pass it on")
    argv = ["--host", config.host, "--port", str(config.port)]
    argv += ["--data-dir", str(config.data_dir), "--engine", config.engine]
    argv += ["--compat", config.compat]
    if config.output_dir is not None:
        argv += ["--output-dir", str(config.output_dir)]
    if config.workers is not None:
        argv += ["--workers", str(config.workers)]
    if config.api_key is not None:
        argv += ["--api-key-file", str(api_key_file)]
    for root in config.allow_roots:
        argv += ["--allow-root", str(root)]
    if config.public_url is not None:
        argv += ["--public-url", config.public_url]
    argv += ["--max-wait", repr(config.max_wait)]
    argv += ["--latency", f"{config.latency[0]!r}:{config.latency[1]!r}"]
    argv += ["--fail-rate", repr(config.fail_rate), "--error-rate", repr(config.error_rate)]
    argv += ["--hang-rate", repr(config.hang_rate)]
    if config.fail_match is not None:
        argv += ["--fail-match", config.fail_match]
    if config.rate_limit is not None:
        argv += ["--rate-limit", repr(config.rate_limit)]
    if config.seed is not None:
        argv += ["--seed", str(config.seed)]
    return argv
