"""Job inputs: which URLs are acceptable, and how to get a local file for one.

Accepted: ``http(s)://`` URLs (downloaded), ``s3://bucket/key`` URLs (read from the stand-in
buckets, see ``buckets``) and ``file://`` URLs whose real path (symlinks resolved) lies under an
allowed root or in the service's own output folder. A URL of this service's own ``/files/`` tree
is read from disk directly, which keeps chained jobs (ingest, then thumbnail from the ingested
output) fast; so is the ``file://`` URL of an output, which stays valid after the service that
made it has stopped.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from .buckets import bucket_path, check_s3_url
from .config import ServiceConfig
from .ids import new_id
from .media import MediaError

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_DOWNLOAD_CHUNK = 1 << 20
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def check_input_url(value: Any, config: ServiceConfig) -> str:
    """Return ``value`` if the service may read it, else raise MediaError("invalid_input").

    The hosted profile takes Ittybit's schemes only, and refuses others in Ittybit's words.
    """
    if not isinstance(value, str) or not value.strip():
        raise MediaError("invalid_input", "input is required and must be a URL string")
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if config.hosted and scheme not in ("http", "https", "s3"):
        raise MediaError("invalid_input", "input must use http://, https://, or s3:// scheme")
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise MediaError("invalid_input", f"input URL has no host: {value}")
        return value
    if scheme == "file":
        file_path(value, config)
        return value
    if scheme == "s3":
        return check_s3_url(value, "input")
    raise MediaError("invalid_input", "input must use http://, https://, s3:// or file:// scheme")


def file_path(url: str, config: ServiceConfig) -> Path:
    """The real path behind a ``file://`` URL, which must lie under an allowed root."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise MediaError("invalid_input", f"file:// URLs must name a local path, not a host: {url}")
    raw_path = unquote(parts.path)
    if not raw_path.startswith("/") or "\x00" in raw_path:
        raise MediaError("invalid_input", f"file:// URL must hold an absolute path: {url}")
    real = Path(raw_path).resolve()
    if real.is_relative_to(config.files_dir.resolve()):
        return real  # one of the service's own outputs
    roots = config.readable_roots
    for root in roots:
        if real.is_relative_to(root.resolve()):
            return real
    if not roots:
        raise MediaError(
            "invalid_input", "file:// inputs are disabled; start the service with --allow-root"
        )
    raise MediaError("invalid_input", f"file:// input is outside the allowed roots: {url}")


def resolve_inside(root: Path, relative: str) -> Path | None:
    """``root/relative`` if that names an existing file inside ``root``, else None."""
    if "\x00" in relative:
        return None
    real_root = root.resolve()
    candidate = (real_root / relative.lstrip("/")).resolve()
    if not candidate.is_relative_to(real_root) or not candidate.is_file():
        return None
    return candidate


def own_file_path(url: str, config: ServiceConfig) -> Path | None:
    """The served file behind a URL of this very service, or None if it is not one."""
    parts = urlsplit(url)
    own = urlsplit(config.base_url)
    if parts.scheme.lower() not in ("http", "https") or parts.port != own.port:
        return None
    same_host = parts.hostname == own.hostname
    both_loopback = parts.hostname in _LOOPBACK_HOSTS and own.hostname in _LOOPBACK_HOSTS
    prefix = f"{own.path.rstrip('/')}/files/"
    if not (same_host or both_loopback) or not parts.path.startswith(prefix):
        return None
    return resolve_inside(config.files_dir, unquote(parts.path[len(prefix) :]))


def output_stem(input_url: str) -> str:
    """A filesystem- and URL-safe name for the output, taken from the input's file name.

    Accented letters keep their base letter ("Café" gives "Cafe"), as in partition keys.
    """
    name = PurePosixPath(unquote(urlsplit(input_url).path)).stem
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    safe = _UNSAFE_NAME_CHARS.sub("_", folded).strip("._")[:80]
    return safe or "output"


@contextlib.asynccontextmanager
async def local_copy(
    url: str, config: ServiceConfig, http: httpx.AsyncClient
) -> AsyncIterator[Path]:
    """A readable local path for ``url``; a downloaded copy is deleted afterwards."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        path = file_path(url, config)
        if not path.is_file():
            raise MediaError("invalid_input", f"input file does not exist: {url}")
        yield path
        return
    if scheme == "s3":
        path = bucket_path(url, config)
        if not path.is_file():
            raise MediaError("download_failed", f"no object at {url} (looked in {path})")
        yield path
        return
    own = own_file_path(url, config)
    if own is not None:
        yield own
        return
    # Keep the input's own file name, so errors about the copy name the file the user knows.
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    folder = config.tmp_dir / new_id("download")
    folder.mkdir(parents=True)
    target = folder / (_UNSAFE_NAME_CHARS.sub("_", name).strip("._")[:120] or "input")
    try:
        await _download(url, target, http)
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def _download(url: str, target: Path, http: httpx.AsyncClient) -> None:
    try:
        async with http.stream("GET", url) as response:
            if response.status_code != 200:
                raise MediaError(
                    "download_failed", f"downloading {url} failed: HTTP {response.status_code}"
                )
            with target.open("wb") as sink:
                async for chunk in response.aiter_bytes(_DOWNLOAD_CHUNK):
                    sink.write(chunk)
    except httpx.HTTPError as exc:
        raise MediaError("download_failed", f"downloading {url} failed: {exc!r}") from exc
