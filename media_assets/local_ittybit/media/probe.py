"""Probe a local media file into an Ittybit File object.

PyAV reads the container header and decodes at most the first frame of the stream a job would
use (that frame carries the display rotation, EXIF orientation included, and proves the stream
decodes). The ffmpeg CLI fills in where PyAV 18 sees less: animated WebP, HEIF tile grids, and
the specific reason a broken file cannot be opened. Every failure is a ``MediaError``.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import av
from av.stream import Disposition

from .cli_probe import CliProbe, cli_probe, clockwise
from .errors import MediaError
from .facts import MediaFacts, StreamFacts
from .tools import INPUT_PROTOCOLS, local_arg

# One 144-Mpx WebP frame costs ~220 MB to decode; skip the decode above this and trust the header.
_MAX_DECODE_PIXELS = 40_000_000
# Packets to try before deciding a stream cannot produce a frame (B-frame delay, leading junk).
_PACKET_BUDGET = 300
# A header whose duration implies less than this for a video file is not believed (a file cut
# short keeps its original duration); the real end is then found by demuxing without decoding.
_MIN_VIDEO_BPS = 8_000
_MAX_DEMUX_BYTES = 256 * 1024 * 1024
# Playlists and lists of other files: the media they name is not what was handed to us.
_REFERENCE_DEMUXERS = frozenset({"hls", "concat", "dash", "ffconcat", "webm_dash_manifest"})
# Image containers are small; counting their packets tells a still image from an animation.
_MAX_COUNTED_PACKETS = 10_000


def probe_file(path: Path) -> dict[str, Any]:
    """Describe ``path`` as an Ittybit File object (without ``url``; the caller knows it).

    Raises ``MediaError("invalid_input", "<file name>: <reason>")`` for anything that is not
    readable media.
    """
    path = Path(path)
    size = _regular_file_size(path)
    try:
        facts = _probe(path, size)
    except MediaError:
        raise
    except Exception as exc:  # PyAV raises many types; callers must only ever see MediaError
        raise MediaError("invalid_input", f"{path.name}: cannot read media: {_why(exc)}") from exc
    return facts.to_file_object()


def _regular_file_size(path: Path) -> int:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise MediaError("invalid_input", f"{path.name}: file not found") from None
    except OSError as exc:
        raise MediaError("invalid_input", f"{path.name}: cannot read file: {_why(exc)}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise MediaError("invalid_input", f"{path.name}: not a regular file")
    if info.st_size == 0:
        raise MediaError("invalid_input", f"{path.name}: file is empty (0 bytes)")
    return info.st_size


def _why(exc: BaseException) -> str:
    # PyAV's str() repeats the absolute path; strerror is the part worth showing.
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)


def _probe(path: Path, size: int) -> MediaFacts:
    try:
        container = _open(path)
    except Exception as exc:
        raise _unreadable(path, exc) from exc
    with container:
        facts = _from_pyav(path, size, container)
    if facts is None:
        return _from_cli(path, size)
    if facts.picture is None and facts.sound is None:
        raise MediaError("invalid_input", f"{path.name}: no audio or video stream found")
    _settle_duration(facts)
    return facts


def _open(path: Path) -> Any:
    # metadata_errors="ignore": a GIF comment that is not UTF-8 must not make the file unreadable.
    return av.open(
        local_arg(path),
        metadata_errors="ignore",
        options={"protocol_whitelist": INPUT_PROTOCOLS},
    )


def _unreadable(path: Path, exc: BaseException) -> MediaError:
    try:
        reasons = cli_probe(path).reasons
    except Exception:  # the CLI is only asked for a better message
        reasons = []
    detail = "; ".join(reasons) if reasons else _why(exc)
    if reasons and _why(exc) not in detail:
        detail += f" ({_why(exc)})"
    return MediaError("invalid_input", f"{path.name}: cannot open as media: {detail}")


def _from_pyav(path: Path, size: int, container: Any) -> MediaFacts | None:
    """Facts from PyAV, or None when only the ffmpeg CLI can describe the file."""
    if container.format.name in _REFERENCE_DEMUXERS:
        raise MediaError(
            "invalid_input",
            f"{path.name}: {container.format.name} files refer to other media; send the media",
        )
    duration = container.duration / 1_000_000 if container.duration else None
    facts = MediaFacts(
        path=path,
        demuxer=container.format.name,
        filesize=size,
        brand=str(container.metadata.get("major_brand", "")).strip().lower(),
        duration=duration if duration and duration > 0 else None,
        bitrate=container.bit_rate or None,
    )
    pictures: list[Any] = []
    sounds: list[Any] = []
    for stream in container.streams:
        ctx = stream.codec_context
        if ctx is None:  # e.g. an audio track without a sample description: unusable, not fatal
            continue
        if stream.type == "video":
            if stream.disposition & Disposition.dependent:
                return None  # HEIF tile grid: PyAV would only show single tiles
            if not stream.disposition & Disposition.attached_pic:
                pictures.append(stream)
        elif stream.type == "audio" and ctx.channels > 0:
            sounds.append(stream)
        elif ctx.name:
            facts.other_codecs.append(ctx.name)
    if sounds:
        default = [s for s in sounds if s.disposition & Disposition.default]
        facts.sound = _sound_facts((default or sounds)[0])
    if pictures:
        if not pictures[0].codec_context.width:
            return None  # animated WebP (or a broken stream): let the CLI decide
        facts.picture = _picture_facts(path, container, pictures[0])
    elif facts.sound is not None:
        _check_audio_decodes(path, container, sounds[0])
    return facts


def _canonical(ctx: Any) -> str:
    # Decoder names differ from codec names (mp3float, libdav1d); canonical_name is the codec's.
    return str(ctx.codec.canonical_name or ctx.name)


def _sound_facts(stream: Any) -> StreamFacts:
    ctx = stream.codec_context
    return StreamFacts(
        index=stream.index,
        codec=_canonical(ctx),
        channels=int(ctx.channels),
        sample_rate=int(ctx.sample_rate or 0),
    )


def _picture_facts(path: Path, container: Any, stream: Any) -> StreamFacts:
    ctx = stream.codec_context
    sar = stream.sample_aspect_ratio
    # average_rate only: guessed_rate falls back to the time base (1000 fps for a one-frame WebM).
    rate = stream.average_rate
    facts = StreamFacts(
        index=stream.index,
        codec=_canonical(ctx),
        width=int(ctx.width),
        height=int(ctx.height),
        sar=float(sar) if sar and sar > 0 else 1.0,
        fps=float(rate) if rate and rate > 0 else None,
        frames=int(stream.frames) or None,
        interlaced=int(ctx.field_order or 0) >= 2,
    )
    if facts.width * facts.height > _MAX_DECODE_PIXELS:
        facts.alpha = _format_has_alpha(ctx.pix_fmt) and facts.codec != "mjpeg"
        return facts
    frame, error = _first_frame(container, stream)
    if frame is None:
        reason = _why(error) if error else "no picture could be decoded"
        raise MediaError(
            "invalid_input",
            f"{path.name}: cannot decode video stream #{stream.index} ({facts.codec}): {reason}",
        )
    facts.rotation = clockwise(frame.rotation)
    facts.width, facts.height = frame.width, frame.height
    facts.interlaced = facts.interlaced or bool(frame.interlaced_frame)
    facts.alpha = _frame_has_alpha(frame, facts.codec)
    return facts


def _first_frame(container: Any, stream: Any) -> tuple[Any, BaseException | None]:
    error: BaseException | None = None
    for count, packet in enumerate(container.demux(stream)):
        if count >= _PACKET_BUDGET:
            break
        try:
            frames = packet.decode()
        except av.FFmpegError as exc:  # one bad packet (stray bytes, leading junk) is tolerated
            error = exc
            continue
        if frames:
            return frames[0], None
    return None, error


def _check_audio_decodes(path: Path, container: Any, stream: Any) -> None:
    frame, error = _first_frame(container, stream)
    if frame is None:
        reason = _why(error) if error else "no sound could be decoded"
        raise MediaError(
            "invalid_input",
            f"{path.name}: cannot decode audio stream #{stream.index}: {reason}",
        )


def _format_has_alpha(pix_fmt: str | None) -> bool:
    if not pix_fmt:
        return False
    try:
        return any(c.is_alpha for c in av.VideoFormat(pix_fmt).components)
    except Exception:  # unknown pixel format name
        return False


def _frame_has_alpha(frame: Any, codec: str) -> bool:
    """True when the first picture has at least one pixel that is not fully opaque.

    mjpeg is excluded: ffmpeg decodes Adobe CMYK JPEGs to yuva444p, whose fourth plane is not
    transparency.
    """
    if codec == "mjpeg" or not _format_has_alpha(frame.format.name):
        return False
    if frame.width * frame.height > 16_000_000:
        return True  # too big to scan cheaply; the pixel format says alpha is possible
    rgba = frame.reformat(format="rgba")
    plane = rgba.planes[0]
    data = bytes(plane)
    row = rgba.width * 4
    for y in range(rgba.height):
        start = y * plane.line_size
        if min(data[start + 3 : start + row : 4]) < 255:
            return True
    return False


def _from_cli(path: Path, size: int) -> MediaFacts:
    cli = cli_probe(path)
    pictures = [s for s in cli.streams if s.type == "video" and not s.attached_pic]
    grids = [s for s in pictures if s.index is None]
    primary = grids[0] if grids else next((s for s in pictures if s.width), None)
    if primary is None or not cli.format_name:
        raise _no_picture(path, cli)
    frames = 1 if grids else None
    duration = cli.duration
    if not grids:
        counted = cli_probe(path, count_frames=True)
        frames, duration = counted.frames, duration or counted.counted_duration
    facts = MediaFacts(path, cli.format_name, size, cli.brand, duration, cli.bitrate)
    facts.picture = StreamFacts(
        index=primary.index,
        codec=primary.codec,
        width=primary.width,
        height=primary.height,
        rotation=primary.rotation,
        fps=primary.fps,
        frames=frames,
        alpha=primary.alpha,
    )
    sound = next((s for s in cli.streams if s.type == "audio" and s.channels), None)
    if sound is not None:
        facts.sound = StreamFacts(
            sound.index, sound.codec, channels=sound.channels, sample_rate=sound.sample_rate
        )
    return facts


def _no_picture(path: Path, cli: CliProbe) -> MediaError:
    broken = next((s for s in cli.streams if s.type == "video"), None)
    where = f"video stream #{broken.index} ({broken.codec})" if broken else "the video stream"
    detail = "; ".join(cli.reasons) or "unknown picture size"
    return MediaError(
        "invalid_input",
        f"{path.name}: {where} has no decodable picture, the file is truncated or corrupt "
        f"({detail})",
    )


def _settle_duration(facts: MediaFacts) -> None:
    """Count frames of image containers; re-measure durations a truncated header overstates."""
    pic = facts.picture
    if pic is None or pic.index is None:
        return
    if facts.is_image_container:
        if pic.frames is None:
            pic.frames, _ = _demux(facts.path, pic.index, _MAX_COUNTED_PACKETS)
        return
    implausible = facts.duration is None or facts.filesize * 8 / facts.duration < _MIN_VIDEO_BPS
    if implausible and facts.filesize <= _MAX_DEMUX_BYTES:
        _, real = _demux(facts.path, pic.index, None)
        if real:
            facts.duration, facts.bitrate = real, None


def _demux(path: Path, index: int, limit: int | None) -> tuple[int, float | None]:
    """Packets in stream ``index`` (up to ``limit``) and the time they span, without decoding."""
    count, first, last = 0, None, None
    with _open(path) as container:
        stream = container.streams[index]
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            count += 1
            if packet.pts is not None and packet.time_base is not None:
                start = float(packet.pts * packet.time_base)
                end = start + float((packet.duration or 0) * packet.time_base)
                first = start if first is None else min(first, start)
                last = end if last is None else max(last, end)
            if limit is not None and count >= limit:
                break
    span = last - first if first is not None and last is not None and last > first else None
    return count, span
