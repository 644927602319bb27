"""The ``media_files`` dynamic partitions: one partition per source file.

Keys come from ``media_assets.sources.partition_key_for``; the facts about each key's file (URI,
size, fingerprint, options) live in the source registry (``media_assets.registry``), which the
pipeline reads by key.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from media_assets.registry import SourceRegistry, default_registry
from media_assets.sources import SourceFile

MEDIA_FILES = "media_files"
# Dagster checks which keys of a batch exist with one IN query; a few thousand per batch keeps
# that query small on every storage backend while 50,000 keys still take only a few batches.
_ADD_BATCH = 2000

media_files = dg.DynamicPartitionsDefinition(name=MEDIA_FILES)


def register_sources(
    instance: dg.DagsterInstance,
    files: Sequence[SourceFile],
    *,
    registry: SourceRegistry | None = None,
) -> list[str]:
    """Record the files' facts and add their keys as partitions; returns the newly added keys.

    Facts are written first, so a partition never exists without them; they are refreshed for
    keys that already existed (a re-registered JSONL may carry new options). New keys are added in
    the order given, which becomes their partition order. Raises
    ``media_assets.registry.KeyConflictError`` before changing anything if a key is already
    registered for another URI.
    """
    (registry if registry is not None else default_registry()).upsert(files)
    existing = set(instance.get_dynamic_partitions(MEDIA_FILES))
    new_keys = [key for key in dict.fromkeys(file.key for file in files) if key not in existing]
    for start in range(0, len(new_keys), _ADD_BATCH):
        instance.add_dynamic_partitions(MEDIA_FILES, new_keys[start : start + _ADD_BATCH])
    return new_keys
