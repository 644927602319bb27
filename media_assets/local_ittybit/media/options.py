"""Validate and normalise Ittybit job options (research/ittybit-api.md section 1.3).

``validate_options`` is idempotent: feeding its result back in returns the same dict, so the
service can store the normalised options and the encoder can re-validate them cheaply.

Defaults chosen where Ittybit documents none (or documents one we cannot know without the input):

- video: format mp4, codec per format (mp4/mov -> h264, webm -> vp9), quality medium, fit fill,
  position center. A codec without a format picks its natural container (vp9 -> webm, else mp4).
- audio: format mp3, quality medium.
- image: format webp (Ittybit says "same as input"; the output name must be known before the input
  is probed, so we always default to webp), quality medium, start 0, fit fill, position center.
- animation: format gif, quality medium, fps 10, start 0 (end: the clip's end, at most 10 s later).
- adaptive_video: format hls (the only one), quality medium; width/height size the top rendition
  of the ladder (see ``hls``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .errors import MediaError

QUALITIES = ("very_low", "low", "medium", "high", "very_high")
FITS = ("contain", "cover", "fill")
POSITIONS = (
    "center",
    "top",
    "bottom",
    "left",
    "right",
    "top_left",
    "top_right",
    "bottom_left",
    "bottom_right",
)
FORMATS: dict[str, tuple[str, ...]] = {
    "video": ("mp4", "webm", "mov"),
    "audio": ("mp3", "aac", "ogg", "opus", "wav", "flac"),
    "image": ("webp", "jpeg", "png", "avif"),
    "animation": ("gif", "webp"),
    "adaptive_video": ("hls",),
}
VIDEO_CODECS = ("h264", "h265", "vp9", "av1")
# Ittybit's documented codec/container pairs.
CODEC_FORMATS: dict[str, tuple[str, ...]] = {
    "h264": ("mp4", "mov"),
    "h265": ("mp4", "mov"),
    "vp9": ("webm",),
    "av1": ("mp4", "webm"),
}
DEFAULT_CODEC = {"mp4": "h264", "mov": "h264", "webm": "vp9"}
BITRATE_RANGES = {"video": (300_000, 60_000_000), "audio": (32_000, 320_000)}
MAX_DIMENSION = 16_384

_KEYS: dict[str, frozenset[str]] = {
    "video": frozenset(
        {"format", "codec", "quality", "width", "height", "fit", "position", "background"}
        | {"fps", "bitrate", "start", "end"}
    ),
    "audio": frozenset({"format", "quality", "bitrate", "start", "end"}),
    "image": frozenset(
        {"format", "quality", "width", "height", "fit", "position", "background", "start"}
    ),
    "animation": frozenset(
        {"format", "quality", "width", "height", "fit", "position", "background"}
        | {"fps", "start", "end"}
    ),
    "adaptive_video": frozenset(
        {"format", "quality", "width", "height", "fit", "position", "background", "start", "end"}
    ),
}
_ALIASES = {"jpg": "jpeg", "hevc": "h265", "avc": "h264", "middle": "center", "centre": "center"}
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


def _bad(message: str) -> MediaError:
    return MediaError("invalid_input", message)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _word(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise _bad(f"option '{name}' must be one of {', '.join(allowed)}, not {value!r}")
    word = value.strip().lower().replace("-", "_")
    word = _ALIASES.get(word, word)
    if word not in allowed:
        raise _bad(f"option '{name}' must be one of {', '.join(allowed)}, not {value!r}")
    return word


def _number(name: str, value: Any, low: float, high: float) -> int | float:
    if not _is_number(value):
        raise _bad(f"option '{name}' must be a number, not {value!r}")
    if not low <= value <= high:
        raise _bad(f"option '{name}' must be between {low:g} and {high:g}, not {value!r}")
    return value if isinstance(value, int) else float(value)


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if not _is_number(value) or not float(value).is_integer():
        raise _bad(f"option '{name}' must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise _bad(f"option '{name}' must be between {low:,} and {high:,}, not {value!r}")
    return int(value)


def _dimension(name: str, value: Any) -> int | str:
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if not match:
            raise _bad(f"option '{name}' must be pixels (int) or a percentage like '50%'")
        percent = float(match.group(1))
        # No upscaling (see geometry.py), so anything above 100% could never be honoured.
        if not 0 < percent <= 100:
            raise _bad(f"option '{name}' percentage must be above 0% and at most 100%")
        return f"{percent:g}%"
    return _integer(name, value, 1, MAX_DIMENSION)


def _colour(value: Any) -> str:
    match = _HEX.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise _bad(f"option 'background' must be a hex colour like '#000000', not {value!r}")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return "#" + digits


def _video_format_and_codec(opts: dict[str, Any]) -> None:
    fmt = opts.get("format")
    codec = opts.get("codec")
    if fmt is None:
        fmt = "webm" if codec == "vp9" else "mp4"
    if codec is None:
        codec = DEFAULT_CODEC[fmt]
    if fmt not in CODEC_FORMATS[codec]:
        allowed = " or ".join(CODEC_FORMATS[codec])
        raise _bad(f"codec {codec} cannot be stored in format {fmt}; use format {allowed}")
    opts["format"], opts["codec"] = fmt, codec


def validate_options(kind: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``options`` for a job of ``kind`` and return them normalised with defaults filled.

    Raises ``MediaError("invalid_input", ...)`` naming the first offending option.
    """
    if kind not in _KEYS:
        raise _bad(f"unsupported job kind {kind!r}; expected one of {', '.join(_KEYS)}")
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise _bad(f"options must be an object, not {type(options).__name__}")
    allowed = _KEYS[kind]
    for key in options:
        if key not in allowed:
            raise _bad(
                f"unknown option {key!r} for kind {kind}; allowed: {', '.join(sorted(allowed))}"
            )
    given = {key: value for key, value in options.items() if value is not None}
    opts: dict[str, Any] = {}
    if "format" in given:
        opts["format"] = _word("format", given["format"], FORMATS[kind])
    if "codec" in given:
        opts["codec"] = _word("codec", given["codec"], VIDEO_CODECS)
    opts["quality"] = _word("quality", given.get("quality", "medium"), QUALITIES)
    for name in ("width", "height"):
        if name in given:
            opts[name] = _dimension(name, given[name])
    if "width" in allowed:
        opts["fit"] = _word("fit", given.get("fit", "fill"), FITS)
        opts["position"] = _word("position", given.get("position", "center"), POSITIONS)
    if "background" in given:
        opts["background"] = _colour(given["background"])
    if "fps" in given:
        opts["fps"] = _number("fps", given["fps"], 1, 60)
    if "bitrate" in given:
        low, high = BITRATE_RANGES[kind]
        opts["bitrate"] = _integer("bitrate", given["bitrate"], low, high)
    for name in ("start", "end"):
        if name in given:
            opts[name] = _number(name, given[name], 0, 7 * 24 * 3600)
    if "end" in opts and opts["end"] <= opts.get("start", 0):
        raise _bad(f"option 'end' ({opts['end']}) must be after 'start' ({opts.get('start', 0)})")

    if kind == "video":
        _video_format_and_codec(opts)
    else:
        defaults = {"audio": "mp3", "image": "webp", "animation": "gif", "adaptive_video": "hls"}
        opts.setdefault("format", defaults[kind])
    if kind in ("image", "animation"):
        opts.setdefault("start", 0)
    if kind == "animation":
        opts.setdefault("fps", 10)
    return opts


_EXTENSIONS = {"jpeg": "jpg", "hls": "m3u8"}  # an HLS output is named by its master playlist


def output_extension(kind: str, options: Mapping[str, Any]) -> str:
    """File extension (no dot) of what a job of ``kind`` with ``options`` produces."""
    fmt = str(validate_options(kind, options)["format"])
    return _EXTENSIONS.get(fmt, fmt)
