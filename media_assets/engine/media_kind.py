"""Guessing a source's media kind before any job has looked at it.

The ingest job's kind (video, audio or image) must be chosen when it is created, and the hosted
API reports what the file really is only in that job's own probe task. So the chain guesses from
what is known beforehand, strongest first:

1. ``recorded`` — a probe of the same source version in an earlier run;
2. ``content`` — the first bytes of a local file (its magic number): reliable, and free for a
   file on this machine, but a remote source would have to be downloaded to be sniffed;
3. ``extension`` — the file name's extension, when it is a known media one;
4. ``declared`` — the JSONL entry's ``kind``. Weak: in the batch-manifest style it names the job
   kind its options are for, and ``{"path": "talk.mov", "kind": "audio"}`` asks for the audio
   of a video;
5. ``default`` — video, the common case.

A wrong guess is corrected by the chain (see ``engine.chain``); what it costs is said there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

MEDIA_KINDS = ("video", "audio", "image")

_EXTENSIONS: dict[str, str] = {
    **dict.fromkeys(
        ("mp4", "m4v", "mov", "mkv", "webm", "avi", "wmv", "flv", "mpg", "mpeg", "ts", "m2ts",
         "mts", "3gp", "ogv", "mxf"),
        "video",
    ),
    **dict.fromkeys(
        ("mp3", "wav", "flac", "aac", "m4a", "m4b", "oga", "opus", "wma", "aif", "aiff", "alac"),
        "audio",
    ),
    **dict.fromkeys(
        ("png", "jpg", "jpeg", "webp", "gif", "avif", "heic", "heif", "tif", "tiff", "bmp"),
        "image",
    ),
}  # fmt: skip

# ISO base media ("ftyp") brands that are not video.
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
_IMAGE_BRANDS = frozenset({b"avif", b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"})
SNIFF_BYTES = 32


@dataclass(frozen=True)
class KindGuess:
    """A media kind chosen before probing, and what it was chosen from."""

    kind: str  # video | audio | image
    basis: str  # recorded | content | extension | declared | default


DEFAULT_GUESS = KindGuess("video", "default")


def kind_from_name(uri: str) -> str | None:
    """The media kind a URI's file extension names, if it is a known one."""
    suffix = PurePosixPath(unquote(urlsplit(uri).path)).suffix.lower().lstrip(".")
    return _EXTENSIONS.get(suffix)


def kind_from_bytes(head: bytes) -> str | None:
    """The media kind a file's first bytes announce, if they are a known signature."""
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")):
        return "image"
    if head[:4] == b"RIFF":
        return {b"WEBP": "image", b"WAVE": "audio", b"AVI ": "video"}.get(head[8:12])
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _AUDIO_BRANDS:
            return "audio"
        return "image" if brand in _IMAGE_BRANDS else "video"
    if head.startswith((b"ID3", b"fLaC")) or (head[:4] == b"FORM" and head[8:12] == b"AIFF"):
        return "audio"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio"  # an MPEG audio (mp3) or ADTS (aac) frame header
    if head.startswith((b"\x1aE\xdf\xa3", b"\x00\x00\x01\xba")):
        return "video"  # Matroska/WebM, MPEG program stream
    return None  # Ogg and MPEG-TS carry either: let the name or the default decide


def sniff_file(path: Path) -> str | None:
    """``kind_from_bytes`` of a local file's head; None if it cannot be read."""
    try:
        with path.open("rb") as handle:
            return kind_from_bytes(handle.read(SNIFF_BYTES))
    except OSError:
        return None


def guess_media_kind(
    uri: str, *, declared: str | None = None, local_path: Path | None = None
) -> KindGuess:
    """The best guess for a source not probed before (``recorded`` is the chain's to add)."""
    if local_path is not None:
        sniffed = sniff_file(local_path)
        if sniffed is not None:
            return KindGuess(sniffed, "content")
    named = kind_from_name(uri)
    if named is not None:
        return KindGuess(named, "extension")
    if declared in MEDIA_KINDS:
        return KindGuess(declared, "declared")
    return DEFAULT_GUESS
