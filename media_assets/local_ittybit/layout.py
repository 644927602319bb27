"""Where a job's output lands in the output folder, so a person can browse the folder.

A job whose ``metadata`` names its ``stage`` and ``partition_key`` (as media_assets' jobs do)
writes ``<output folder>/<stage>/<partition key>/<input stem>.<ext>``: the latest output of each
stage of each file, always at the same place. Any other job writes ``<output folder>/<job id>/``.

Metadata comes from clients, so each part becomes one safe folder name: characters outside
``[A-Za-z0-9._@-]`` turn into ``_``, and a name that had to change gets a short hash of the
original, so two keys never share a folder.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")
_MAX_PART = 120


def output_folder(job: Mapping[str, Any]) -> str:
    """The output's folder, relative to the output folder, with ``/`` between parts."""
    metadata = job.get("metadata") or {}
    stage = metadata.get("stage") if isinstance(metadata, Mapping) else None
    key = metadata.get("partition_key") if isinstance(metadata, Mapping) else None
    if isinstance(stage, str) and isinstance(key, str) and stage.strip() and key.strip():
        return f"{folder_name(stage)}/{folder_name(key)}"
    return str(job["id"])


def folder_name(text: str) -> str:
    """``text`` as one folder name that cannot climb out of its parent or hide itself."""
    safe = _UNSAFE.sub("_", text).lstrip(".")[:_MAX_PART]
    if safe == text and safe:
        return safe
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe or 'x'}-{digest}"
