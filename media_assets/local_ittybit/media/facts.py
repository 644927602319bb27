"""What a probe learned, and how it becomes an Ittybit File object.

Both probe paths (PyAV, and the ffmpeg CLI fallback) fill the same ``MediaFacts`` so that naming the
format, classifying the kind and computing display sizes happen in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Demuxers that hold still pictures (or animations of them) rather than timed media.
IMAGE_DEMUXERS = frozenset({"image2", "gif", "webp_anim", "apng"})
_HEIF_BRANDS = frozenset({"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"})
_AVIF_BRANDS = frozenset({"avif", "avis"})
_WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "opus", "vorbis"})
_SIMPLE_FORMATS = {
    "mpegts": "ts",
    "mpeg": "mpg",
    "asf": "wmv",
    "webp_anim": "webp",
    "apng": "png",
}
# Image2 tells the format only through the codec.
_IMAGE_CODEC_FORMATS = {"mjpeg": "jpeg", "png": "png", "webp": "webp", "bmp": "bmp", "tiff": "tiff"}
_MIME = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "avi": "video/x-msvideo",
    "ts": "video/mp2t",
    "3gp": "video/3gpp",
    "mpg": "video/mpeg",
    "m4a": "audio/mp4",
    "mp3": "audio/mpeg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "opus": "audio/ogg",
    "gif": "image/gif",
    "webp": "image/webp",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "heic": "image/heic",
    "avif": "image/avif",
}
# Ittybit names HEVC "h265" in job options; reporting it the same way lets a client compare an
# output's probe with the options that made it.
_CODEC_NAMES = {"hevc": "h265", "webp_anim": "webp"}


def codec_name(name: str | None) -> str | None:
    """Ittybit-style codec name for an ffmpeg codec name."""
    return None if name is None else _CODEC_NAMES.get(name, name)


@dataclass
class StreamFacts:
    """The picture or sound stream a job would use.

    ``index`` is the input stream index for ``-map``; None for a HEIF tile grid, which only the
    ffmpeg CLI's default stream selection assembles.
    """

    index: int | None
    codec: str
    width: int = 0
    height: int = 0
    sar: float = 1.0
    rotation: int = 0  # clockwise degrees to turn the stored picture to display it
    fps: float | None = None
    frames: int | None = None
    alpha: bool = False
    interlaced: bool = False
    channels: int = 0
    sample_rate: int = 0

    def display_size(self) -> tuple[int, int]:
        """Width and height as shown: square pixels, rotation applied."""
        width = max(1, round(self.width * self.sar)) if self.width else 0
        height = self.height
        if self.rotation % 180 == 90:
            width, height = height, width
        return width, height


@dataclass
class MediaFacts:
    """Container-level facts plus the chosen picture and sound streams."""

    path: Path
    demuxer: str
    filesize: int
    brand: str = ""
    duration: float | None = None
    bitrate: int | None = None
    picture: StreamFacts | None = None
    sound: StreamFacts | None = None
    other_codecs: list[str] = field(default_factory=list)

    @property
    def is_image_container(self) -> bool:
        """Still-picture formats, including HEIF/AVIF items inside an ISO-BMFF box."""
        if self.demuxer in IMAGE_DEMUXERS or self.demuxer.endswith("_pipe"):
            return True
        return self.demuxer.startswith("mov,") and self.brand in _HEIF_BRANDS | _AVIF_BRANDS

    @property
    def animated(self) -> bool:
        """An image container holding more than one picture (animated GIF/WebP/APNG)."""
        frames = self.picture.frames if self.picture else None
        return self.is_image_container and frames is not None and frames > 1

    @property
    def kind(self) -> str:
        """video | audio | image, as Ittybit classifies files.

        Animated images count as video so they can be ingested to mp4; cover art (attached
        pictures) never makes a file a video, so it is simply not recorded as ``picture``.
        """
        if self.picture is None:
            return "audio"
        if self.is_image_container and not self.animated:
            return "image"
        return "video"

    def format_name(self) -> str:
        """Short container name: mp4, mov, webm, mkv, ogg, mp3, jpeg, heic..."""
        demuxer, ext = self.demuxer, self.path.suffix.lower().lstrip(".")
        codecs = {s.codec for s in (self.picture, self.sound) if s} | set(self.other_codecs)
        if demuxer.startswith("mov,"):
            return self._iso_format(ext)
        if demuxer == "matroska,webm":
            if ext in ("webm", "mkv"):
                return ext
            return "mkv" if ext == "mka" or not codecs <= _WEBM_CODECS else "webm"
        if demuxer == "ogg":
            only_opus = self.picture is None and self.sound is not None
            opus = only_opus and self.sound is not None and self.sound.codec == "opus"
            return "opus" if opus and ext not in ("ogg", "oga") else "ogg"
        if demuxer == "image2" or demuxer.endswith("_pipe"):
            codec = self.picture.codec if self.picture else ""
            return _IMAGE_CODEC_FORMATS.get(codec, demuxer.removesuffix("_pipe"))
        return _SIMPLE_FORMATS.get(demuxer, demuxer.split(",")[0])

    def _iso_format(self, ext: str) -> str:
        brand = self.brand
        if brand in _HEIF_BRANDS:
            return "heic"
        if brand in _AVIF_BRANDS:
            return "avif"
        if brand == "qt":
            return "mov"
        if brand.startswith(("m4a", "m4b")):
            return "m4a"
        if brand.startswith(("3gp", "3g2")):
            return "3gp"
        # Generic brands (isom, mp42, ...) say nothing more; an iTunes file is often mp42 + .m4a.
        if ext == "m4a" and self.picture is None:
            return "m4a"
        if ext in ("mov", "3gp"):
            return ext
        return "mp4"

    def to_file_object(self) -> dict[str, Any]:
        """The Ittybit File object (object/kind/format/width/height/duration/codecs...) plus the
        extra facts the encoder needs (stream_index, tile_grid, channels...)."""
        kind = self.kind
        fmt = self.format_name()
        pic, snd = self.picture, self.sound
        width, height = pic.display_size() if pic else (None, None)
        duration = None if kind == "image" else self.duration
        bitrate = self.bitrate if kind != "image" else None  # a still has no rate
        if not bitrate and duration:
            bitrate = int(self.filesize * 8 / duration)
        mime = _MIME.get(fmt)
        if fmt == "ogg":
            mime = "video/ogg" if pic else "audio/ogg"
        elif fmt == "mp4" and kind == "audio":
            mime = "audio/mp4"
        return {
            "object": "file",
            "kind": kind,
            "format": fmt,
            "type": mime,
            "filesize": self.filesize,
            "width": width,
            "height": height,
            "orientation": _orientation(width, height),
            "rotation": pic.rotation if pic else 0,
            "duration": round(duration, 6) if duration is not None else None,
            "fps": round(pic.fps, 3) if pic and pic.fps and kind == "video" else None,
            "frames": pic.frames if pic else None,
            "bitrate": bitrate or None,
            "codecs": {
                "video": codec_name(pic.codec) if pic else None,
                "audio": codec_name(snd.codec) if snd else None,
            },
            "animated": self.animated,
            "transparency": bool(pic and pic.alpha),
            "has_video": kind == "video",
            "has_audio": snd is not None,
            "channels": snd.channels if snd else None,
            "sample_rate": snd.sample_rate if snd else None,
            "interlaced": bool(pic and pic.interlaced),
            "tile_grid": bool(pic and pic.index is None),
            "stream_index": {
                "video": pic.index if pic else None,
                "audio": snd.index if snd else None,
            },
        }


def _orientation(width: int | None, height: int | None) -> str | None:
    if not width or not height:
        return None
    if width == height:
        return "square"
    return "landscape" if width > height else "portrait"
