"""Asset backfills created and closed the way the UI and the daemon do, without a webserver.

Dagster has no public API for creating an asset backfill outside GraphQL (which needs a running
webserver), nor for running one backfill-daemon iteration. ``media-assets run`` needs both: it
creates the same backfill object the UI creates (so it shows on the UI's backfill page and the
daemon chunks it by the pipeline's backfill policy), and it closes the backfill it watched when it
stops the daemon it started.

Closing runs in a process of its own (``python -m media_assets.instance.backfills BACKFILL_ID``,
started with the settings' environment): it starts a code server, and Dagster hands a code server
the instance's ref on its command line, which must hold no database password
(``media_assets.instance.loading``).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
from dagster._core.execution.backfill import (
    BULK_ACTION_TERMINAL_STATUSES,
    BulkActionStatus,
    PartitionBackfill,
)
from dagster._core.utils import make_new_backfill_id
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.backfill import execute_backfill_jobs

# Which command, on which machine, launched a backfill: one that died leaves it to be cleaned up.
COMMAND_HOST_TAG = "media_assets/command_host"
COMMAND_PID_TAG = "media_assets/command_pid"


@dataclass(frozen=True)
class BackfillState:
    """A backfill's status (Dagster's word for it, e.g. ``REQUESTED``) and whether it has ended."""

    status: str
    ended: bool


def launch_asset_backfill(
    instance: dg.DagsterInstance,
    asset_graph: Any,
    keys: Sequence[str],
    *,
    asset_keys: Sequence[dg.AssetKey],
    tags: Mapping[str, str],
    run_config: Mapping[str, Any] | None,
    title: str,
) -> str:
    """Create a backfill of ``asset_keys`` over the partitions ``keys``; returns its id."""
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(),
        asset_graph=asset_graph,
        partition_names=list(keys),
        asset_selection=list(asset_keys),
        backfill_timestamp=time.time(),
        tags=dict(tags),
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=title,
        description=None,
        run_config=dict(run_config) if run_config else None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id


def backfill_state(instance: dg.DagsterInstance, backfill_id: str) -> BackfillState | None:
    """The backfill's current state, or None if there is no such backfill."""
    backfill = instance.get_backfill(backfill_id)
    if backfill is None:
        return None
    return BackfillState(
        status=backfill.status.value, ended=backfill.status in BULK_ACTION_TERMINAL_STATUSES
    )


def close_backfill(
    instance: dg.DagsterInstance,
    backfill_id: str,
    *,
    code_location_module: str,
    location_name: str,
) -> BackfillState | None:
    """Run one backfill-daemon iteration over ``backfill_id`` alone, so a finished one is closed.

    The daemon records a backfill's outcome only at its next iteration (every 30 s, fixed in
    Dagster); a command that stops the daemon it started as soon as every file is done would leave
    the backfill "in progress" in the UI. Other backfills on the instance (another machine's) are
    left to the daemon that serves them. Returns the state of ``backfill_id`` afterwards.
    """
    state = backfill_state(instance, backfill_id)
    backfill = instance.get_backfill(backfill_id)
    if state is None or state.ended or backfill is None:
        return state
    target = ModuleTarget(
        module_name=code_location_module,
        attribute=None,
        working_directory=None,
        location_name=location_name,
    )
    logger = logging.getLogger("media_assets.backfill")
    with WorkspaceProcessContext(instance, target, code_server_log_level="warning") as context:
        for error in execute_backfill_jobs(context, logger, [backfill]):
            if error is not None:
                logger.warning("closing backfills: %s", error.to_string())
    return backfill_state(instance, backfill_id)


def cancel_backfill(instance: dg.DagsterInstance, backfill_id: str) -> list[str]:
    """Stop a backfill: launch nothing more of it and cancel its runs; returns the run ids.

    Queued runs are cancelled at once; started runs are asked to terminate through the run
    launcher (their run workers then cancel their remote jobs), which needs the code server that
    launched them, so call this before stopping the daemon.
    """
    backfill = instance.get_backfill(backfill_id)
    if backfill is not None and backfill.status not in BULK_ACTION_TERMINAL_STATUSES:
        canceling = backfill.with_status(BulkActionStatus.CANCELING)  # type: ignore[no-untyped-call]
        instance.update_backfill(canceling)
    runs = _runs(instance, backfill_id, _UNFINISHED)
    for run in runs:
        instance.run_coordinator.cancel_run(run.run_id)
    return [run.run_id for run in runs]


def fail_unfinished_runs(instance: dg.DagsterInstance, backfill_id: str, reason: str) -> int:
    """Mark the backfill's started runs failed when their workers are known to be gone.

    Nothing else would: the process that reports a dead worker is the code server that launched
    it, and it died with the daemon. Marked failed, they are retried by the daemon's run retries
    (the new runs re-attach to their remote jobs). Returns how many were marked.
    """
    runs = _runs(instance, backfill_id, _RUNNING)
    for run in runs:
        instance.report_run_failed(run, reason)
    return len(runs)


def abandoned_backfills(
    instance: dg.DagsterInstance, *, host: str, is_alive: Callable[[int], bool]
) -> list[str]:
    """Backfills launched by a command on ``host`` that has died without closing them."""
    found = []
    for backfill in instance.get_backfills(status=BulkActionStatus.REQUESTED):
        tags = backfill.tags or {}
        if tags.get(COMMAND_HOST_TAG) != host:
            continue
        try:
            pid = int(tags.get(COMMAND_PID_TAG, ""))
        except ValueError:
            continue
        if not is_alive(pid):
            found.append(backfill.backfill_id)
    return found


def abandon_backfill(instance: dg.DagsterInstance, backfill_id: str, reason: str) -> None:
    """Close a backfill whose command and daemon are gone: its unfinished runs are cancelled.

    Their workers died with the daemon's process group, so no run launcher is left to ask.
    """
    for run in _runs(instance, backfill_id, [*_UNFINISHED, dg.DagsterRunStatus.CANCELING]):
        instance.report_run_canceled(run, reason)
    backfill = instance.get_backfill(backfill_id)
    if backfill is not None and backfill.status not in BULK_ACTION_TERMINAL_STATUSES:
        canceled = backfill.with_status(BulkActionStatus.CANCELED)  # type: ignore[no-untyped-call]
        instance.update_backfill(canceled)


_RUNNING = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
_UNFINISHED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED, *_RUNNING]


def _runs(
    instance: dg.DagsterInstance, backfill_id: str, statuses: Sequence[dg.DagsterRunStatus]
) -> Sequence[dg.DagsterRun]:
    filters = dg.RunsFilter(tags={"dagster/backfill": backfill_id}, statuses=list(statuses))
    return instance.get_runs(filters=filters)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m media_assets.instance.backfills BACKFILL_ID``: close it, print its status.

    The instance and code location come from the environment (``DAGSTER_HOME`` and the product's
    settings). Exit 0 when the backfill has ended, 1 when it is still open.
    """
    from media_assets.settings import CODE_LOCATION_MODULE, CODE_LOCATION_NAME

    (backfill_id,) = sys.argv[1:] if argv is None else argv
    with dg.DagsterInstance.get() as instance:
        state = close_backfill(
            instance,
            backfill_id,
            code_location_module=CODE_LOCATION_MODULE,
            location_name=CODE_LOCATION_NAME,
        )
    print(state.status if state is not None else "missing")
    return 0 if state is not None and state.ended else 1


if __name__ == "__main__":
    sys.exit(main())
