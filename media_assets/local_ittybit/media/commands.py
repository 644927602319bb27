"""Build the ffmpeg command line for one job: pure, so it can be logged, tested and shown.

Every command reads one input, maps only the picture and sound streams the probe chose (subtitle,
data and cover-art streams are dropped: mp4 cannot take PGS subtitles, and Apple 'mebx' tracks
break muxing), strips metadata, writes progress as key=value lines to stdout, and names its muxer
with ``-f`` so the output path's extension does not matter (the encoder writes to a temp name).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import quality as q
from .errors import MediaError
from .geometry import expression_filters, flatten_filter, plan_size, size_filters
from .options import validate_options
from .tools import INPUT_PROTOCOLS, ffmpeg_exe, local_arg, pick_encoder

# Lossy audio stays at most stereo and 48 kHz: libmp3lame cannot take 5.1 or 192 kHz, and a
# stereo downmix is what every player expects from an mp3/aac/opus/ogg rendition.
_MAX_LOSSY_CHANNELS = 2
_MAX_LOSSY_RATE = 48_000
# An animation without ``end`` runs to the clip's end, but never longer than this.
_MAX_ANIMATION_SECONDS = 10.0

_AUDIO_FORMATS: dict[str, tuple[str, str]] = {  # format -> (codec, muxer)
    "mp3": ("mp3", "mp3"),
    "aac": ("aac", "adts"),
    "ogg": ("vorbis", "ogg"),
    "opus": ("opus", "opus"),
    "wav": ("pcm_s16le", "wav"),
    "flac": ("flac", "flac"),
}


def build_command(
    kind: str, options: Mapping[str, Any], probe: Mapping[str, Any], src: Path, dst: Path
) -> list[str]:
    """The full ffmpeg argv (binary first, ``dst`` last) for a ``kind`` job on ``src``.

    ``probe`` is ``probe_file(src)``. Raises ``MediaError("invalid_input", ...)`` when the source
    cannot feed this kind of job (no audio for an audio job, a still image for a video job...).
    """
    opts = validate_options(kind, options)
    builders = {"video": _video, "audio": _audio, "image": _image, "animation": _animation}
    if kind not in builders:  # adaptive_video writes a folder: see ``hls``
        raise MediaError("invalid_input", f"{kind} jobs are not built here")
    _check_source(kind, opts, probe, Path(src).name)
    return [*progress_head(), *builders[kind](opts, probe, Path(src)), local_arg(Path(dst))]


def progress_head() -> list[str]:
    """The start of every command: the binary, quiet, progress as key=value lines on stdout."""
    head = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error"]
    return [*head, "-progress", "pipe:1", "-stats_period", "0.5"]


def _check_source(kind: str, opts: Mapping[str, Any], probe: Mapping[str, Any], name: str) -> None:
    source_kind = probe.get("kind")
    if kind == "audio" and not probe.get("has_audio"):
        raise MediaError("invalid_input", f"{name} has no audio stream")
    if kind in ("video", "adaptive_video") and source_kind != "video":
        if source_kind == "image":
            raise MediaError("invalid_input", f"{name} is a still image; use an image job")
        raise MediaError("invalid_input", f"{name} has no video stream")
    if kind in ("image", "animation") and source_kind not in ("video", "image"):
        raise MediaError("invalid_input", f"{name} has no video stream to take a picture from")
    duration = probe.get("duration")
    start = float(opts.get("start") or 0)
    if kind in ("video", "audio", "adaptive_video") and duration and start >= duration:
        raise MediaError(
            "invalid_input", f"start {start:g}s is not before the end of {name} ({duration:.3f}s)"
        )


def _seek_and_input(src: Path, start: float, length: float | None) -> list[str]:
    # -ss before -i seeks by index then decodes up to the exact time; ffmpeg adds the file's own
    # start time, so "2 s" means 2 s into the clip even when its timestamps begin at 10 s.
    args = ["-ss", f"{start:.3f}"] if start > 0 else []
    args += ["-protocol_whitelist", INPUT_PROTOCOLS, "-i", local_arg(src)]
    if length is not None:
        args += ["-t", f"{length:.3f}"]
    return args


def _picture_map(probe: Mapping[str, Any]) -> list[str]:
    if probe.get("tile_grid"):
        return []  # only ffmpeg's default stream selection assembles a HEIF grid
    index = (probe.get("stream_index") or {}).get("video")
    return ["-map", f"0:{index}" if index is not None else "0:v:0"]


def _sound_map(probe: Mapping[str, Any]) -> list[str]:
    index = (probe.get("stream_index") or {}).get("audio")
    return ["-map", f"0:{index}" if index is not None else "0:a:0?"]


def _picture_filters(
    opts: Mapping[str, Any],
    probe: Mapping[str, Any],
    *,
    even: bool,
    pix_fmt: str,
    keep_alpha: bool,
    pre: tuple[str, ...] = (),
) -> list[str]:
    """``-vf`` (or, for a HEIF grid, ``-s``/``-pix_fmt``) arguments for size, alpha and format."""
    width, height = probe.get("width"), probe.get("height")
    if probe.get("tile_grid") and width and height:
        # ffmpeg builds its own graph for the grid and refuses -vf on top; -s still applies.
        plan = plan_size({k: opts.get(k) for k in ("width", "height")}, width, height, even=even)
        return ["-s", f"{plan.width}x{plan.height}", "-pix_fmt", pix_fmt]
    chain = list(pre)
    if probe.get("interlaced"):
        chain.append("bwdif=mode=send_frame:deint=interlaced")
    if width and height:
        plan = plan_size(opts, width, height, even=even)
        chain += size_filters(
            plan,
            position=str(opts.get("position", "center")),
            background=opts.get("background"),
            transparent_ok=keep_alpha,
        )
    else:
        chain += expression_filters(opts, even=even)
    if probe.get("transparency") and not keep_alpha:
        chain.append(flatten_filter(opts.get("background")))
    chain.append(f"format={pix_fmt}")
    return ["-vf", ",".join(chain)]


def _video(opts: Mapping[str, Any], probe: Mapping[str, Any], src: Path) -> list[str]:
    start = float(opts.get("start") or 0)
    length = float(opts["end"]) - start if "end" in opts else None
    args = _seek_and_input(src, start, length)
    args += _picture_map(probe)
    if probe.get("has_audio") and not probe.get("tile_grid"):
        args += _sound_map(probe)
    args += ["-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1"]
    pre = (f"fps={opts['fps']}",) if "fps" in opts else ()
    args += _picture_filters(opts, probe, even=True, pix_fmt="yuv420p", keep_alpha=False, pre=pre)
    args += _video_codec(str(opts["codec"]), opts)
    if probe.get("has_audio"):
        codec = "opus" if opts["format"] == "webm" else "aac"
        args += _lossy_audio(codec, opts, probe)
    args += ["-max_muxing_queue_size", "4096", "-f", str(opts["format"])]
    if opts["format"] in ("mp4", "mov"):
        args += ["-movflags", "+faststart"]  # moov first: playable while downloading
    return args


def _video_codec(codec: str, opts: Mapping[str, Any]) -> list[str]:
    encoder = pick_encoder(codec)
    crf = str(q.VIDEO_CRF[codec][opts["quality"]])
    bitrate = opts.get("bitrate")
    args = ["-c:v", encoder]
    if encoder in ("libx264", "libx265"):
        args += ["-preset", "veryfast"]
        if encoder == "libx265":
            args += ["-tag:v", "hvc1", "-x265-params", "log-level=error"]  # hvc1: Apple players
        if bitrate:
            return [
                *args,
                "-b:v",
                str(bitrate),
                "-maxrate",
                str(bitrate),
                "-bufsize",
                str(2 * bitrate),
            ]
        return [*args, "-crf", crf]
    if encoder == "libvpx-vp9":
        args += ["-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1"]
    elif encoder == "libaom-av1":
        args += ["-usage", "realtime", "-cpu-used", "8", "-row-mt", "1"]
    elif encoder == "libsvtav1":
        args += ["-preset", "10"]
    if bitrate:
        return [*args, "-b:v", str(bitrate)]
    return [*args, "-crf", crf, "-b:v", "0"]


def _lossy_audio(codec: str, opts: Mapping[str, Any], probe: Mapping[str, Any]) -> list[str]:
    table = q.OPUS_KBPS if codec == "opus" else q.AUDIO_KBPS
    bitrate = opts.get("bitrate") or table[opts["quality"]] * 1000
    args = ["-c:a", pick_encoder(codec), "-b:a", str(bitrate)]
    return args + _audio_shape(probe, _MAX_LOSSY_CHANNELS, _MAX_LOSSY_RATE)


def _audio_shape(probe: Mapping[str, Any], max_channels: int, max_rate: int) -> list[str]:
    args: list[str] = []
    channels = probe.get("channels") or 0
    if channels > max_channels:
        args += ["-ac", str(max_channels)]
    rate = probe.get("sample_rate") or 0
    if rate > max_rate:
        args += ["-ar", str(max_rate)]
    return args


def _audio(opts: Mapping[str, Any], probe: Mapping[str, Any], src: Path) -> list[str]:
    start = float(opts.get("start") or 0)
    length = float(opts["end"]) - start if "end" in opts else None
    args = _seek_and_input(src, start, length)
    args += [*_sound_map(probe), "-vn", "-sn", "-dn", "-map_metadata", "-1"]
    codec, muxer = _AUDIO_FORMATS[str(opts["format"])]
    if codec in ("pcm_s16le", "flac"):
        args += ["-c:a", pick_encoder(codec)]  # lossless: keep channels and rate
    else:
        args += _lossy_audio(codec, opts, probe)
    return [*args, "-f", muxer]


def frame_time(start: float, probe: Mapping[str, Any]) -> float:
    """When to take a still: ``start``, pulled back into clips too short for it."""
    if probe.get("kind") != "video" or probe.get("frames") == 1:
        return 0.0
    duration = probe.get("duration")
    if not duration:
        return start
    margin = min(0.5, duration * 0.1)
    return start if start <= duration - margin else duration * 0.5


def _image(opts: Mapping[str, Any], probe: Mapping[str, Any], src: Path) -> list[str]:
    args = _seek_and_input(src, frame_time(float(opts.get("start") or 0), probe), None)
    args += [*_picture_map(probe), "-an", "-sn", "-dn", "-map_metadata", "-1", "-frames:v", "1"]
    fmt = str(opts["format"])
    alpha = bool(probe.get("transparency")) and fmt in ("webp", "png")
    level = str(opts["quality"])
    if fmt == "webp":
        pix, codec = ("yuva420p" if alpha else "yuv420p"), ["-c:v", pick_encoder("webp")]
        codec += ["-quality", str(q.WEBP_QUALITY[level]), "-f", "webp"]
    elif fmt == "png":
        pix, codec = ("rgba" if alpha else "rgb24"), ["-c:v", pick_encoder("png")]
        codec += ["-f", "image2", "-update", "1"]
    elif fmt == "jpeg":
        pix, codec = "yuvj420p", ["-c:v", pick_encoder("mjpeg")]
        codec += ["-q:v", str(q.JPEG_QSCALE[level]), "-f", "image2", "-update", "1"]
    else:  # avif
        pix, codec = "yuv420p", ["-c:v", pick_encoder("avif"), "-still-picture", "1"]
        codec += ["-crf", str(q.AVIF_CRF[level]), "-b:v", "0", "-f", "avif"]
        if codec[1] == "libaom-av1":
            codec += ["-cpu-used", "6", "-row-mt", "1"]
    even = fmt == "avif"  # the AV1 still is 4:2:0 too
    return args + _picture_filters(opts, probe, even=even, pix_fmt=pix, keep_alpha=alpha) + codec


def animation_window(opts: Mapping[str, Any], probe: Mapping[str, Any]) -> tuple[float, float]:
    """Start and length (seconds) of an animation job."""
    start = float(opts.get("start") or 0)
    duration = probe.get("duration")
    if probe.get("kind") != "video":
        return 0.0, 1.0
    end = float(opts["end"]) if "end" in opts else start + _MAX_ANIMATION_SECONDS
    if duration:
        if start >= duration:
            start = 0.0
        end = min(end, float(duration))
    return start, max(end - start, 0.1)


def _animation(opts: Mapping[str, Any], probe: Mapping[str, Any], src: Path) -> list[str]:
    start, length = animation_window(opts, probe)
    args = _seek_and_input(src, start, length)
    args += [*_picture_map(probe), "-an", "-sn", "-dn", "-map_metadata", "-1"]
    level = str(opts["quality"])
    pre = (f"fps={opts['fps']}",)
    if opts["format"] == "gif":
        colours = q.GIF_COLOURS[level]
        palette = (
            f"split[frames][sample];[sample]palettegen=max_colors={colours}:stats_mode=diff[pal];"
            "[frames][pal]paletteuse=dither=sierra2_4a"
        )
        # The palette step has to come last: its output is paletted (pal8), which is what gif takes.
        vf = _picture_filters(opts, probe, even=False, pix_fmt="rgba", keep_alpha=True, pre=pre)
        vf[-1] = vf[-1] + "," + palette if vf[0] == "-vf" else vf[-1]
        return args + vf + ["-loop", "0", "-f", "gif"]
    alpha = bool(probe.get("transparency"))
    pix = "yuva420p" if alpha else "yuv420p"
    args += _picture_filters(opts, probe, even=False, pix_fmt=pix, keep_alpha=alpha, pre=pre)
    return [
        *args,
        "-c:v",
        pick_encoder("webp_anim"),
        "-quality",
        str(q.WEBP_QUALITY[level]),
        "-loop",
        "0",
        "-f",
        "webp",
    ]
