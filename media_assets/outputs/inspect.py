"""Reading an output file: what it holds, whether it decodes to the end, whether it is flat.

The probe is the local service's own (PyAV, the same container and codec names the API reports);
on top of it this decodes the first frame of the picture and of the sound, and a frame near the
end, so a file cut short or corrupt in the middle of its tail is caught, and measures how much the
first picture varies (a thumbnail of a black frame does not).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from media_assets.local_ittybit.media import MediaError, probe_file

# The first picture is shrunk to this width before its spread is measured: enough to tell a
# flat frame from any real picture, and cheap at any output size.
_SPREAD_WIDTH = 32
# Packets read to find a decodable frame (B-frame delay, leading junk).
_PACKET_BUDGET = 300
# How far before the end the tail frame is looked for.
_TAIL_SECONDS = 0.5


@dataclass(frozen=True, kw_only=True)
class OutputFacts:
    """What an output file holds."""

    kind: str | None = None  # video | audio | image
    format: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    decode_error: str | None = None  # None: the first and the last frames decode
    picture_spread: float | None = None  # standard deviation of the first picture's luma, 0-255


def inspect_output(path: Path) -> OutputFacts:
    """Probe and decode the output at ``path``; problems are reported, never raised."""
    if path.suffix == ".m3u8":
        return _inspect_playlist(path)
    try:
        probe = probe_file(path)
    except MediaError as error:
        return OutputFacts(decode_error=error.message)
    facts = OutputFacts(
        kind=probe.get("kind"),
        format=probe.get("format"),
        video_codec=(probe.get("codecs") or {}).get("video"),
        audio_codec=(probe.get("codecs") or {}).get("audio"),
        width=probe.get("width"),
        height=probe.get("height"),
        duration_s=probe.get("duration"),
    )
    try:
        spread = _decode(path, facts.duration_s)
    except Exception as error:  # PyAV raises many kinds; any of them means it does not decode
        return _with(facts, decode_error=f"{path.name}: {error or type(error).__name__}")
    return _with(facts, picture_spread=spread)


def _inspect_playlist(path: Path) -> OutputFacts:
    """An HLS ladder, read through its master playlist and the segments it names.

    The probe refuses playlists (a job input could name anything in one); an output in our own
    output folder names only the segments written beside it, so here it is opened as it is.
    """
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            video = container.streams.video[:1]
            audio = container.streams.audio[:1]
            # The variants' streams come in playlist order: the first is the top rendition.
            picture = video[0].codec_context if video else None
            facts = OutputFacts(
                kind="video" if video else None,
                format="hls",
                video_codec=picture.name if picture is not None else None,
                audio_codec=audio[0].codec_context.name if audio else None,
                width=picture.width if picture is not None else None,
                height=picture.height if picture is not None else None,
                duration_s=container.duration / av.time_base if container.duration else None,
            )
    except Exception as error:  # PyAV raises many kinds; any of them means it does not decode
        return OutputFacts(format="hls", decode_error=f"{path.name}: {error}")
    try:
        spread = _decode(path, facts.duration_s)
    except Exception as error:
        return _with(facts, decode_error=f"{path.name}: {error or type(error).__name__}")
    return _with(facts, picture_spread=spread)


def _with(facts: OutputFacts, **changes: Any) -> OutputFacts:
    return OutputFacts(**{**facts.__dict__, **changes})


def _decode(path: Path, duration: float | None) -> float | None:
    """Decode the first frame of each stream and one near the end; the first picture's spread."""
    with av.open(str(path), metadata_errors="ignore") as container:
        streams = [*container.streams.video[:1], *container.streams.audio[:1]]
        if not streams:
            raise ValueError("no audio or video stream")
        frames = _first_frames(container, streams)
        spread = None
        for stream in streams:
            frame = frames.get(stream.index)
            if frame is None:
                raise ValueError(f"its {stream.type} stream has no decodable frame")
            if stream.type == "video" and spread is None:
                spread = _spread(frame)
        if duration and duration > 2 * _TAIL_SECONDS:
            _decode_tail(container, streams[0], duration)
    return spread


def _first_frames(container: Any, streams: list[Any]) -> dict[int, Any]:
    """The first decodable frame of each stream, in one pass from the start (no seeking).

    One pass, because an HLS ladder refuses to seek back to its start, and a refused seek
    leaves its demuxer reading from the wrong place.
    """
    frames: dict[int, Any] = {}
    for count, packet in enumerate(container.demux(streams)):
        if count >= _PACKET_BUDGET * len(streams) or len(frames) == len(streams):
            break
        if packet.stream.index in frames:
            continue
        for frame in packet.decode():
            frames[packet.stream.index] = frame
            break
    return frames


def _decode_tail(container: Any, stream: Any, duration: float) -> None:
    """The key frame before ``duration - 0.5 s`` decodes and the packets reach that time.

    Decoding every frame from that key frame on would cost up to a GOP of full-size frames; the
    key frame proves the tail decodes, the packets that it is all there.
    """
    target = duration - _TAIL_SECONDS
    container.seek(int(target * av.time_base), backward=True)
    decoded, reached = False, None
    for packet in container.demux(stream):
        if not decoded:
            decoded = any(True for _ in packet.decode())
        if packet.pts is not None and packet.time_base is not None:
            reached = float(packet.pts * packet.time_base)
    if not decoded:
        raise ValueError(f"nothing decodes in its last {_TAIL_SECONDS:g} s")
    if reached is None or reached < target - _TAIL_SECONDS:
        raise ValueError(f"it ends before {target:.1f} s, short of its {duration:.1f} s")


def _spread(frame: Any) -> float:
    """Standard deviation of the luma of ``frame`` shrunk to a small grey picture."""
    height = max(1, round(_SPREAD_WIDTH * frame.height / max(1, frame.width)))
    grey = frame.reformat(width=_SPREAD_WIDTH, height=height, format="gray")
    plane = grey.planes[0]
    data = bytes(plane)
    pixels = [
        value
        for row in range(height)
        for value in data[row * plane.line_size : row * plane.line_size + _SPREAD_WIDTH]
    ]
    return statistics.pstdev(pixels)
