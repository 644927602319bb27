"""Read ``ffmpeg -hide_banner -i FILE`` stderr: the fallback where PyAV sees less than the CLI.

PyAV 18 picks the still-image webp_pipe demuxer for animated WebP (0x0, undecodable) and has no
stream-group API, so an iPhone HEIC looks like 48 loose 512x512 tiles; the ffmpeg 9 CLI reads both.
The same stderr also carries the clearest reason why a broken file cannot be opened.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .tools import INPUT_PROTOCOLS, ffmpeg_exe, local_arg

_INPUT = re.compile(r"^Input #0, (.+?), from ")
_BRAND = re.compile(r"^\s*major_brand\s*:\s*(\S+)")
_DURATION = re.compile(
    r"^\s*Duration: (?:N/A|(\d+):(\d+):(\d+(?:\.\d+)?))"
    r"(?:, start: (-?[\d.]+))?(?:, bitrate: (\d+) kb/s)?"
)
_STREAM = re.compile(
    r"^\s*Stream #0:(\d+)(?:\[0x[0-9a-fA-F]+\])?(?:\([^)]*\))?: "
    r"(Video|Audio|Subtitle|Data): (\w+)(.*)$"
)
_GROUP = re.compile(r"^\s*Stream group #0:(\d+)(?:\[0x[0-9a-fA-F]+\])?: Tile Grid: (\w+)(.*)$")
_SIZE = re.compile(r", (\d{1,5})x(\d{1,5})")
_FPS = re.compile(r", (\d+(?:\.\d+)?)k? fps")
_ALPHA = re.compile(r"\b(argb|rgba|bgra|abgr|yuva\w*|gbrap\w*|ya8|ya16\w*|pal8)\b")
_AUDIO = re.compile(r", (\d+) Hz, ([^,]+)")
_ROTATION = re.compile(r"(?:Display Matrix|displaymatrix): rotation of (-?\d+(?:\.\d+)?) degrees")
_STATS = re.compile(r"frame=\s*(\d+).*?time=(\d+):(\d+):(\d+(?:\.\d+)?)")
_PREFIX = re.compile(r"^\[[^\]]*\]\s*")

# Lines that only repeat that something failed, or are advice; the reason is elsewhere.
_NOISE = (
    "error opening input file",
    "error opening input files",
    "at least one output file must be specified",
    "consider increasing the value",
    "press [q] to stop",
    "svt[info]",
    "svt[warn]",
)
# ffmpeg's thread bookkeeping after a failure: shown only when nothing more specific was said.
_GENERIC = (
    "task finished with error code",
    "terminating thread with return code",
    "error sending frames to consumers",
    "could not open encoder before eof",
    "nothing was written into output file",
    "conversion failed",
    "error while filtering",
)


@dataclass
class CliStream:
    """One stream (or, with ``index`` None, a tile-grid stream group) as the CLI lists it."""

    index: int | None
    type: str
    codec: str
    width: int = 0
    height: int = 0
    fps: float | None = None
    alpha: bool = False
    attached_pic: bool = False
    rotation: int = 0
    channels: int = 0
    sample_rate: int = 0


@dataclass
class CliProbe:
    """What ``ffmpeg -i`` printed about a file."""

    format_name: str | None = None
    brand: str = ""
    duration: float | None = None
    bitrate: int | None = None
    streams: list[CliStream] = field(default_factory=list)
    frames: int | None = None
    counted_duration: float | None = None
    reasons: list[str] = field(default_factory=list)


def _channels(layout: str) -> int:
    layout = layout.strip()
    match = re.match(r"(\d+) channels", layout)
    if match:
        return int(match.group(1))
    try:
        import av

        return int(av.AudioLayout(layout).nb_channels)
    except Exception:  # an unknown layout name: the count is only informative
        return 0


def clockwise(display_matrix_degrees: float) -> int:
    """ffmpeg reports the display matrix counter-clockwise; Ittybit/EXIF speak clockwise."""
    return round(-display_matrix_degrees) % 360


def meaningful_lines(stderr: str, limit: int = 3) -> list[str]:
    """The first few stderr lines that say something specific, without the ``[ctx @ 0x..]`` tag."""
    picked: list[str] = []
    generic: list[str] = []
    for raw in stderr.splitlines():
        line = raw.strip()
        while _PREFIX.match(line):  # "[vost#0:0 @ 0x..] [enc:libx264 @ 0x..] Error ..."
            line = _PREFIX.sub("", line, count=1).strip()
        if not line or line.startswith(("Input #", "Output #", "Stream ", "Duration:")):
            continue
        if raw.startswith(" ") or any(noise in line.lower() for noise in _NOISE):
            continue
        if line.startswith(("frame=", "size=", "video:")):
            continue
        bucket = generic if any(g in line.lower() for g in _GENERIC) else picked
        if line not in bucket:
            bucket.append(line)
    return (picked or generic)[:limit]


def parse(stderr: str) -> CliProbe:
    """Parse the stream listing ffmpeg prints for input #0."""
    probe = CliProbe(reasons=meaningful_lines(stderr))
    current: CliStream | None = None
    for line in stderr.splitlines():
        if m := _INPUT.match(line):
            probe.format_name = m.group(1)
        elif m := _BRAND.match(line):
            probe.brand = m.group(1).lower()
        elif m := _DURATION.match(line):
            if m.group(1) is not None:
                hours, minutes, seconds = m.group(1, 2, 3)
                probe.duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
            if m.group(5):
                probe.bitrate = int(m.group(5)) * 1000
        elif m := _GROUP.match(line):
            current = CliStream(None, "video", m.group(2))
            _fill_video(current, m.group(3))
            probe.streams.append(current)
        elif m := _STREAM.match(line):
            current = CliStream(int(m.group(1)), m.group(2).lower(), m.group(3))
            if current.type == "video":
                _fill_video(current, m.group(4))
            elif current.type == "audio" and (a := _AUDIO.search(m.group(4))):
                current.sample_rate = int(a.group(1))
                current.channels = _channels(a.group(2))
            probe.streams.append(current)
        elif (m := _ROTATION.search(line)) and current is not None:
            current.rotation = clockwise(float(m.group(1)))
    stats = _STATS.findall(stderr)
    if stats:
        frames, hours, minutes, seconds = stats[-1]
        probe.frames = int(frames)
        probe.counted_duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return probe


def _fill_video(stream: CliStream, rest: str) -> None:
    if m := _SIZE.search(rest):
        stream.width, stream.height = int(m.group(1)), int(m.group(2))
    if m := _FPS.search(rest):
        stream.fps = float(m.group(1))
    stream.alpha = bool(_ALPHA.search(rest))
    stream.attached_pic = "(attached pic)" in rest


def cli_probe(path: Path, *, count_frames: bool = False) -> CliProbe:
    """Run ``ffmpeg -i`` on ``path``; with ``count_frames``, also stream-copy the first video stream
    to the null muxer (demux only, no decode) to learn its frame count and real duration."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-protocol_whitelist", INPUT_PROTOCOLS]
    cmd += ["-i", local_arg(path)]
    if count_frames:
        cmd += ["-map", "0:v:0", "-c", "copy", "-f", "null", "-"]
    result = subprocess.run(
        cmd, capture_output=True, text=True, errors="replace", check=False, timeout=120
    )
    return parse(result.stderr)
