"""The Dagster UI and daemon of a home on one code server, as ``dagster dev`` starts them.

``dagster dev`` is the one Dagster command that runs the webserver and the daemon against a
single code server, but its command-line wrapper prints that it is superseded by ``dg dev``
(from a package this project does not install) on every start. This runs the same
implementation without the wrapper. The workspace file names the code location.

Run as ``python -m media_assets.instance.dev_server --workspace FILE [--host H] [--port P]``
with ``DAGSTER_HOME`` set.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dagster._cli.dev import dev_command_impl
from dagster_shared.cli import WorkspaceOpts


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m media_assets.instance.dev_server")
    parser.add_argument("--workspace", required=True, help="workspace.yaml of the code location")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    dev_command_impl(
        code_server_log_level="warning",
        log_level="info",
        log_format="colored",
        port=str(args.port),
        host=args.host,
        use_legacy_code_server_behavior=False,
        shutdown_pipe=None,
        verbose=False,
        workspace_opts=WorkspaceOpts(workspace=[args.workspace]),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
