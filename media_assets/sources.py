"""Discovering a media library: folders, JSONL manifests, URLs and single files.

``discover(sources)`` turns what a user points at into ``SourceFile`` records, each with a stable
partition key, plus a ``SourceError`` for everything it could not use: nothing a user names is
skipped without a reason.

Source forms:

- a folder: every regular file below it, recursively. Files come before sub-folders, each sorted by
  name, so the order (and thus the partition order) is the same on every run. Hidden and temporary
  files are ignored (see ``is_ignored_name``); symlinked files are followed, symlinked folders are
  not (they could loop).
- a ``*.jsonl`` file, one object per line, either ``{"url": ..., "options": {...}}`` with options
  per stage (``{"thumbnail": {...}, "transcoded": {...}}``) or the batch-manifest style
  ``{"path": ..., "kind": "video", "options": {...}}`` whose flat options configure the stage for
  that kind (video → transcoded, audio → audio, image → thumbnail). ``url``/``path`` may be a URL or
  a local path, relative paths resolving against the JSONL's folder. Blank lines and ``#`` comments
  are skipped; a bad line becomes a ``SourceError`` naming ``file:line`` and the rest is kept.
- an ``http(s)://`` or ``s3://`` URL (the schemes Ittybit accepts as job input), or a ``file://``
  URL or plain path to a local file or folder.

Partition keys are ``<stem>-<hash8>``: a readable ASCII version of the file name, extension
included (``clip_one.mp4-1a2b3c4d``), then 8 hex digits of the SHA-256 of the source URI. The stem
keeps keys recognisable in the UI; the hash keeps keys distinct for equal names in different
folders and for names that transliterate to the same ASCII. Keys use only ``[A-Za-z0-9_.-]`` (a
subset of what the Dagster UI accepts unquoted), never contain ``..`` or ``*``, and are at most 64
characters.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import stat
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes, unquote, urlsplit

from media_assets.results import Stage

STAGES: tuple[str, ...] = tuple(stage.value for stage in Stage)
# The stage a flat "options" object (the batch-manifest style) configures, by the entry's "kind".
STAGE_FOR_KIND: dict[str, str] = {
    "video": Stage.TRANSCODED.value,
    "audio": Stage.AUDIO.value,
    "image": Stage.THUMBNAIL.value,
}
REMOTE_SCHEMES = frozenset({"http", "https", "s3"})

MAX_KEY_LENGTH = 64
KEY_HASH_CHARS = 8
_MAX_EXTENSION = 10
FINGERPRINT_SAMPLE = 64 * 1024

_TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", ".swp")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_SEPARATOR_RUN = re.compile(r"[_.-]{2,}")
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True, kw_only=True)
class SourceFile:
    """One source file of the library and the facts known about it when it was discovered."""

    key: str  # partition key
    uri: str  # file:// absolute URI for local files, else the http(s)/s3 URL
    name: str  # display name: path relative to the folder source, or the file name
    size: int | None = None
    mtime_ns: int | None = None
    fingerprint: str | None = None
    options: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # per stage, overriding defaults
    kind: str | None = None  # a JSONL entry's "kind" (video | audio | image), when it had one

    @property
    def local_path(self) -> Path | None:
        """The file on this machine, for ``file://`` sources."""
        return path_from_file_uri(self.uri) if self.uri.startswith("file:") else None

    @property
    def version(self) -> str | None:
        """What changes when the content does: the fingerprint, else size and mtime if known."""
        if self.fingerprint:
            return self.fingerprint
        if self.size is not None and self.mtime_ns is not None:
            return f"stat:{self.size}:{self.mtime_ns}"
        return None


@dataclass(frozen=True)
class SourceError:
    """Something the user named that could not be used, and why."""

    source: str  # a path, URL, or "file.jsonl:LINE"
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


class _EntryError(Exception):
    """A JSONL entry that cannot be used; the message is the reason shown to the user."""


def partition_key_for(uri: str) -> str:
    """The partition key for a source URI: readable stem of the file name plus a hash of the URI."""
    digest = hashlib.sha256(uri.encode("utf-8", "surrogateescape")).hexdigest()[:KEY_HASH_CHARS]
    stem = _readable_stem(_name_from_uri(uri), MAX_KEY_LENGTH - KEY_HASH_CHARS - 1)
    return f"{stem}-{digest}"


def fingerprint_file(path: Path | str, size: int) -> str:
    """A cheap content fingerprint: SHA-256 over the size, the first and the last 64 KiB.

    It is sampled, so an edit in the middle of a large file that keeps its size is not seen; the
    size and mtime recorded next to it catch ordinary re-exports. Reading two small blocks keeps
    fingerprinting a 50,000-file library to seconds rather than a full read of every byte.
    """
    digest = hashlib.sha256(size.to_bytes(8, "big", signed=False))
    with open(path, "rb") as handle:
        if size <= 2 * FINGERPRINT_SAMPLE:
            digest.update(handle.read(2 * FINGERPRINT_SAMPLE))
        else:
            digest.update(handle.read(FINGERPRINT_SAMPLE))
            handle.seek(size - FINGERPRINT_SAMPLE)
            digest.update(handle.read(FINGERPRINT_SAMPLE))
    return "s256:" + digest.hexdigest()


def is_ignored_name(name: str) -> bool:
    """Hidden files, editor backups and partial downloads are never sources inside a folder."""
    if name.startswith((".", "~")):
        return True
    return name.lower().endswith(_TEMP_SUFFIXES)


def file_uri(path: str | Path) -> str:
    """The ``file://`` URI of an absolute path, byte-exact for names that are not valid UTF-8."""
    if os.name != "posix":
        return Path(path).as_uri()
    # Same result as Path.as_uri() on POSIX, without building a Path per file.
    return "file://" + quote_from_bytes(os.fsencode(path))


def path_from_file_uri(uri: str) -> Path:
    """Inverse of ``file_uri``; raises ``ValueError`` for URIs naming another host."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != "file":
        raise ValueError(f"not a file:// URI: {uri}")
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"file:// URI names another host ({parts.netloc}): {uri}")
    return Path(unquote(parts.path, errors="surrogateescape"))


def discover(
    sources: Sequence[str | os.PathLike[str]], *, with_fingerprint: bool = True
) -> tuple[list[SourceFile], list[SourceError]]:
    """Expand folders, JSONL files, URLs and paths into source files, in a deterministic order.

    A URI seen twice is kept once (its first occurrence, with that occurrence's options).
    """
    files: list[SourceFile] = []
    errors: list[SourceError] = []
    uri_by_key: dict[str, str] = {}
    for source in sources:
        for item in _expand_source(os.fspath(source), with_fingerprint):
            if isinstance(item, SourceError):
                errors.append(item)
                continue
            known_uri = uri_by_key.get(item.key)
            if known_uri is None:
                uri_by_key[item.key] = item.uri
                files.append(item)
            elif known_uri != item.uri:
                # Equal stems and equal 32-bit hashes: vanishingly rare, but never merge two files.
                errors.append(
                    SourceError(
                        item.uri, f"partition key {item.key} is already used by {known_uri}"
                    )
                )
    return files, errors


def scan_folder(
    root: Path, *, with_fingerprint: bool = False
) -> Iterator[SourceFile | SourceError]:
    """Every usable file below ``root`` (which must exist), in discovery order."""
    root_text = os.fspath(root)
    # Explicit stack rather than recursion: deep trees must not hit the recursion limit.
    stack: list[tuple[str, str]] = [(root_text, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as iterator:
                entries = sorted(iterator, key=lambda entry: entry.name)
        except OSError as exc:
            yield SourceError(folder, f"cannot read folder: {exc.strerror or exc}")
            continue
        subfolders: list[tuple[str, str]] = []
        for entry in entries:
            if is_ignored_name(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append((entry.path, f"{prefix}{entry.name}/"))
                    continue
                if not entry.is_file():
                    yield SourceError(
                        entry.path, "not a regular file (broken link or special file)"
                    )
                    continue
                info = entry.stat()
            except OSError as exc:
                yield SourceError(entry.path, f"cannot read: {exc.strerror or exc}")
                continue
            yield _local_source(
                entry.path, info, name=prefix + entry.name, with_fingerprint=with_fingerprint
            )
        stack.extend(reversed(subfolders))


def _expand_source(source: str, with_fingerprint: bool) -> Iterator[SourceFile | SourceError]:
    text = source.strip()
    if not text:
        yield SourceError(repr(source), "empty source")
        return
    match = _SCHEME.match(text)
    if match is None:
        yield from _expand_path(Path(text).expanduser(), text, with_fingerprint)
        return
    scheme = match.group(1).lower()
    if scheme == "file":
        try:
            path = path_from_file_uri(text)
        except ValueError as exc:
            yield SourceError(text, str(exc))
            return
        yield from _expand_path(path, text, with_fingerprint)
        return
    try:
        yield _remote_source(text, options={}, name=None)
    except _EntryError as exc:
        yield SourceError(text, str(exc))


def _expand_path(
    path: Path, label: str, with_fingerprint: bool
) -> Iterator[SourceFile | SourceError]:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        yield SourceError(label, "no such file or folder")
        return
    except OSError as exc:
        yield SourceError(label, f"cannot read: {exc.strerror or exc}")
        return
    resolved = path.resolve()
    if stat.S_ISDIR(info.st_mode):
        yield from scan_folder(resolved, with_fingerprint=with_fingerprint)
    elif not stat.S_ISREG(info.st_mode):
        yield SourceError(label, "not a regular file or folder")
    elif resolved.suffix.lower() == ".jsonl":
        yield from _read_jsonl(resolved, label, with_fingerprint)
    else:
        yield _local_source(
            os.fspath(resolved), info, name=resolved.name, with_fingerprint=with_fingerprint
        )


def _local_source(
    path: str,
    info: os.stat_result,
    *,
    name: str,
    with_fingerprint: bool,
    options: dict[str, dict[str, Any]] | None = None,
) -> SourceFile | SourceError:
    fingerprint = None
    if with_fingerprint:
        try:
            fingerprint = fingerprint_file(path, info.st_size)
        except OSError as exc:
            return SourceError(path, f"cannot read: {exc.strerror or exc}")
    uri = file_uri(path)
    return SourceFile(
        key=partition_key_for(uri),
        uri=uri,
        name=name,
        size=info.st_size,
        mtime_ns=info.st_mtime_ns,
        fingerprint=fingerprint,
        options=options or {},
    )


def _remote_source(
    url: str, *, options: dict[str, dict[str, Any]], name: str | None, kind: str | None = None
) -> SourceFile:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in REMOTE_SCHEMES:
        raise _EntryError(
            f"unsupported URL scheme {scheme}:// (Ittybit reads http://, https:// and s3:// inputs;"
            " use a signed https URL for other stores)"
        )
    if not parts.netloc:
        raise _EntryError("URL has no host" if scheme != "s3" else "s3 URL has no bucket")
    if scheme == "s3" and parts.path.strip("/") == "":
        raise _EntryError("s3 URL has no object key")
    return SourceFile(
        key=partition_key_for(url),
        uri=url,
        name=name or _name_from_uri(url),
        options=options,
        kind=kind,
    )


def _read_jsonl(
    path: Path, label: str, with_fingerprint: bool
) -> Iterator[SourceFile | SourceError]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield SourceError(label, f"cannot read: {exc.strerror or exc}")
        return
    for number, raw in enumerate(data.splitlines(), start=1):
        where = f"{label}:{number}"
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
        except UnicodeDecodeError:
            yield SourceError(where, "line is not valid UTF-8")
            continue
        if not line or line.startswith("#"):
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            yield SourceError(where, f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        try:
            yield _entry_source(entry, path.parent, with_fingerprint)
        except _EntryError as exc:
            yield SourceError(where, str(exc))


def _entry_source(entry: object, base: Path, with_fingerprint: bool) -> SourceFile:
    if not isinstance(entry, dict):
        raise _EntryError("expected a JSON object")
    url, path = entry.get("url"), entry.get("path")
    if url is not None and path is not None:
        raise _EntryError("give either 'url' or 'path', not both")
    field_name = "url" if url is not None else "path"
    target = url if url is not None else path
    if target is None:
        raise _EntryError("missing 'url' (or 'path')")
    if not isinstance(target, str) or not target.strip():
        raise _EntryError(f"'{field_name}' must be a non-empty string")
    kind = entry.get("kind")
    if kind is not None and kind not in STAGE_FOR_KIND:
        raise _EntryError(f"unknown kind {kind!r} (expected one of {', '.join(STAGE_FOR_KIND)})")
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise _EntryError("'name' must be a string")
    options = _stage_options(entry.get("options"), kind)
    target = target.strip()

    match = _SCHEME.match(target)
    if match is not None and match.group(1).lower() != "file":
        return _remote_source(target, options=options, name=name, kind=kind)
    if match is not None:
        try:
            local = path_from_file_uri(target)
        except ValueError as exc:
            raise _EntryError(str(exc)) from None
    else:
        local = Path(target).expanduser()
        if not local.is_absolute():
            local = base / local
    try:
        info = os.stat(local)
    except FileNotFoundError:
        raise _EntryError(f"no such file: {local}") from None
    except OSError as exc:
        raise _EntryError(f"cannot read {local}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise _EntryError(f"{local} is a folder; list its files, or pass the folder as a source")
    if not stat.S_ISREG(info.st_mode):
        raise _EntryError(f"{local} is not a regular file")
    resolved = local.resolve()
    found = _local_source(
        os.fspath(resolved),
        info,
        name=name or resolved.name,
        with_fingerprint=with_fingerprint,
        options=options,
    )
    if isinstance(found, SourceError):
        raise _EntryError(found.reason)
    return dataclasses.replace(found, kind=kind)


def _stage_options(raw: object, kind: object) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _EntryError("'options' must be an object")
    per_stage: dict[str, dict[str, Any]] = {}
    flat: dict[str, Any] = {}
    for option, value in raw.items():
        if option in STAGES:
            if not isinstance(value, dict):
                raise _EntryError(f"options.{option} must be an object")
            per_stage[option] = dict(value)
        else:
            flat[option] = value
    if flat:
        if not isinstance(kind, str):
            raise _EntryError(
                f"options {', '.join(sorted(flat))} are not stage names ({', '.join(STAGES)});"
                ' add "kind" (video, audio or image) to apply them to that kind\'s stage'
            )
        stage = STAGE_FOR_KIND[kind]
        per_stage[stage] = {**per_stage.get(stage, {}), **flat}
    return per_stage


def _name_from_uri(uri: str) -> str:
    parts = urlsplit(uri)
    segment = parts.path.rstrip("/").rpartition("/")[2]
    return unquote(segment, errors="replace") or parts.netloc or "file"


def _readable_stem(name: str, limit: int) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    base, dot, extension = ascii_name.rpartition(".")
    if not dot:
        base, extension = ascii_name, ""
    extension = _NON_ALNUM.sub("", extension)[:_MAX_EXTENSION]
    suffix = f".{extension}" if extension else ""
    base = _tidy(base)[: max(1, limit - len(suffix))]
    base = _tidy(base) or "file"
    return base + suffix


def _tidy(text: str) -> str:
    text = _UNSAFE.sub("_", text)
    # A run of separators becomes its first character: no "..", so never the UI's "..." either.
    text = _SEPARATOR_RUN.sub(lambda match: match.group(0)[0], text)
    return text.strip("._-")
