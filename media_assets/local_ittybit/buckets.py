"""``s3://`` URLs on this machine: each bucket is a folder under the data dir's ``s3`` folder.

The hosted API reads ``s3://`` inputs and delivers a job's ``output`` to ``s3://bucket/key``
through the customer's bucket. The local service has no network and no credentials, so it keeps
a stand-in: ``s3://bucket/some/key.mp4`` is the file ``DATA_DIR/s3/bucket/some/key.mp4``. Inputs
are read from there and deliveries written there, so a test (or a user) can put inputs in place
and look at what was delivered.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .config import ServiceConfig
from .media import MediaError


def check_s3_url(value: object, what: str) -> str:
    """``value`` if it is an ``s3://bucket/key`` URL, else ``MediaError("invalid_input")``."""
    if not isinstance(value, str):
        raise MediaError("invalid_input", f"{what} must be an s3://bucket/key URL")
    parts = urlsplit(value)
    if parts.scheme.lower() != "s3" or not parts.netloc:
        raise MediaError("invalid_input", f"{what} must be an s3://bucket/key URL, not {value!r}")
    if not parts.path.strip("/"):
        raise MediaError("invalid_input", f"{what} names no object key: {value!r}")
    return value


def bucket_path(url: str, config: ServiceConfig) -> Path:
    """The file that stands in for ``url``; a key that would leave the bucket is refused."""
    parts = urlsplit(url)
    root = (config.s3_dir / parts.netloc).resolve()
    relative = unquote(parts.path).lstrip("/")
    if "\x00" in relative:
        raise MediaError("invalid_input", f"invalid object key in {url}")
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or path == root:
        raise MediaError("invalid_input", f"object key leaves its bucket: {url}")
    return path


def deliver(output: Path, url: str, config: ServiceConfig, *, with_folder: bool = False) -> None:
    """Copy ``output`` to ``url``; with ``with_folder``, everything beside it too (an HLS ladder).

    Each file is copied beside its destination under a hidden name and renamed into place, and
    ``output`` (for HLS, the master playlist) comes last: whoever finds it finds all it names.
    """
    target = bucket_path(url, config)
    if with_folder:
        siblings = [path for path in output.parent.rglob("*") if path.is_file() and path != output]
        # Segments before the playlists that list them.
        for path in sorted(siblings, key=lambda path: (path.suffix == ".m3u8", str(path))):
            _copy(path, target.parent / path.relative_to(output.parent))
    _copy(output, target)


def _copy(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    staged = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        shutil.copyfile(source, staged)
        os.replace(staged, destination)
    finally:
        staged.unlink(missing_ok=True)
