"""The job journal stored in the instance's key-value table, shared by every run and machine.

Dagster keeps daemon cursors in its run storage's key-value table; it has no public accessor on
the instance, but it is the one table every deployment (SQLite or Postgres) already has and
shares, which is what a record of remote jobs needs.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from media_assets.engine.journal import KeyValueJournal


def instance_journal(instance: dg.DagsterInstance) -> KeyValueJournal:
    storage = instance.run_storage

    def save(pairs: Mapping[str, str]) -> None:
        # The generic implementation inserts all pairs and, if any key exists, only updates the
        # existing ones: new and existing keys must go in separate calls.
        existing = set(storage.get_cursor_values(set(pairs)))
        new = {key: value for key, value in pairs.items() if key not in existing}
        old = {key: value for key, value in pairs.items() if key in existing}
        if new:
            storage.set_cursor_values(new)
        if old:
            storage.set_cursor_values(old)

    return KeyValueJournal(load=storage.get_cursor_values, save=save)
