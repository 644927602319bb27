"""How `media-assets run` sizes its ranged runs."""

import pytest
import yaml

from media_assets.cli.library import BACKFILL_RUN_SLOTS, files_per_run_for
from media_assets.instance.config import INSTANCE_TEMPLATE


@pytest.mark.parametrize(
    ("files", "per_run"),
    [
        (10, 25),  # 1 run
        (100, 34),  # 3 runs
        (1_000, 334),  # 3 runs
        (1_500, 500),  # 3 runs
        (1_501, 250),  # 7 runs
        (50_000, 250),  # 200 runs
        (200_000, 1_000),  # 200 runs
        (1_000_000, 1_000),  # past 200,000 files only the run count grows
    ],
)
def test_runs_are_large_but_enough_of_them(files: int, per_run: int) -> None:
    """Small libraries fill the backfill's run slots at once; big ones stay near 200 runs."""
    assert files_per_run_for(files) == per_run


def test_small_libraries_use_every_backfill_slot_at_once() -> None:
    """Up to 1,500 files there are never more runs than the backfill's run slots."""
    for files in range(25, 1_501, 7):
        assert -(-files // files_per_run_for(files)) <= BACKFILL_RUN_SLOTS


def test_run_slots_match_the_instance() -> None:
    """The sizing's run slots are the dagster/backfill limit of the instance template."""
    config = yaml.safe_load(INSTANCE_TEMPLATE.read_text())
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": "dagster/backfill", "limit": BACKFILL_RUN_SLOTS} in limits
