"""The simulate engine: no media work, just believable timing, outputs and faults.

Per job it draws, from one seeded RNG and always in the same order, a latency, a failure roll
and a hang roll, so a given seed and submission order replay the same run. Outputs are File
objects derived from the options (size, format, duration); their URLs point under ``/files/``,
where the service answers with a small placeholder instead of storing anything per job.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ..config import ServiceConfig
from ..inputs import output_stem
from ..jobs import ENCODE_TASK, EXPORT_TASK, IMPORT_TASK, PROBE_TASK, Json, export_destination
from ..media import MediaError, output_extension
from .base import JobRun

SOURCE_WIDTH, SOURCE_HEIGHT, SOURCE_DURATION_S = 1920, 1080, 12.5

_VIDEO_CODECS = {"mp4": ("h264", "aac"), "mov": ("h264", "aac"), "webm": ("vp9", "opus")}
_AUDIO_CODECS = {"mp3": "mp3", "aac": "aac", "ogg": "vorbis", "opus": "opus", "wav": "pcm_s16le"}
_VIDEO_BITRATES = {"very_low": 500_000, "low": 1_000_000, "medium": 2_500_000, "high": 5_000_000}
_AUDIO_BITRATES = {"very_low": 64_000, "low": 96_000, "medium": 128_000, "high": 192_000}


class SimulateEngine:
    """Sleeps instead of encoding; fails, hangs and varies as configured."""

    def __init__(self, config: ServiceConfig) -> None:
        self._config = config
        self._rng = random.Random(config.seed)
        self._fail_pattern = re.compile(config.fail_match) if config.fail_match else None

    async def run(self, run: JobRun) -> str:
        job = run.job
        config = self._config
        latency = self._rng.uniform(*config.latency)
        fails = self._rng.random() < config.fail_rate
        hangs = self._rng.random() < config.hang_rate
        if self._fail_pattern is not None and self._fail_pattern.search(job["input"]):
            fails = True

        source = simulated_source(job["input"])
        run.start_task(PROBE_TASK)
        run.finish_task(PROBE_TASK, source)
        run.start_task(IMPORT_TASK, source)
        run.finish_task(IMPORT_TASK, source)
        run.start_task(ENCODE_TASK, source)
        if hangs:
            await asyncio.Event().wait()  # until the job is cancelled or the service stops
        run.expected_s = latency
        if latency > 0:
            await asyncio.sleep(latency)
        if fails:
            raise MediaError(
                "processing_failed", f"simulated failure while processing {job['input']}"
            )
        extension = output_extension(job["kind"], job["options"])
        url = f"{config.base_url}/files/{job['id']}/{quote(output_stem(job['input']))}.{extension}"
        output = simulated_output(job["kind"], job["options"], url)
        run.finish_task(ENCODE_TASK, output)
        # Nothing is written, so nothing is delivered either; the export names the destination.
        run.start_task(EXPORT_TASK, output)
        run.finish_task(EXPORT_TASK, {**output, "url": export_destination(job) or url})
        return url

    async def probe(self, url: str) -> Json:
        return simulated_source(url)


def simulated_source(url: str) -> Json:
    """What probing a typical phone video would report."""
    return _file(
        url=url,
        kind="video",
        file_format="mp4",
        size=(SOURCE_WIDTH, SOURCE_HEIGHT),
        duration=SOURCE_DURATION_S,
        codecs={"video": "h264", "audio": "aac"},
        bitrate=8_000_000,
    )


def simulated_output(kind: str, options: Mapping[str, Any], url: str) -> Json:
    """The File an encode with these options would plausibly produce."""
    file_format = str(options.get("format") or url.rsplit(".", 1)[-1])
    quality = str(options.get("quality") or "medium")
    duration = _clip_duration(options)
    if kind == "audio":
        codec = _AUDIO_CODECS.get(file_format, file_format)
        bitrate = _number(options.get("bitrate")) or _AUDIO_BITRATES.get(quality, 256_000)
        return _file(url, "audio", file_format, None, duration, {"audio": codec}, int(bitrate))
    size = _output_size(options)
    if kind == "animation":
        # Ittybit calls an animated image a video file: many pictures, no sound.
        animation = _file(url, "video", file_format, size, min(duration, 10.0), {}, None)
        animation.update(codecs={"video": file_format}, animated=True, has_audio=False)
        return animation
    if kind == "image":
        return _file(url, "image", file_format, size, None, {"video": file_format}, None)
    video_codec, audio_codec = _VIDEO_CODECS.get(file_format, ("h264", "aac"))
    codecs = {"video": str(options.get("codec") or video_codec), "audio": audio_codec}
    bitrate = _number(options.get("bitrate")) or _VIDEO_BITRATES.get(quality, 8_000_000)
    return _file(url, "video", file_format, size, duration, codecs, int(bitrate))


def _file(
    url: str,
    kind: str,
    file_format: str,
    size: tuple[int, int] | None,
    duration: float | None,
    codecs: dict[str, str],
    bitrate: int | None,
) -> Json:
    width, height = size if size else (None, None)
    seconds = duration or 1.0
    filesize = int((bitrate or 2_000_000) * seconds / 8) if kind != "image" else 48_000
    orientation = None
    if width and height:
        orientation = "landscape" if width > height else "portrait" if width < height else "square"
    return {
        "object": "file",
        "kind": kind,
        "url": url,
        "format": file_format,
        "width": width,
        "height": height,
        "duration": duration,
        "codecs": codecs,
        "filesize": filesize,
        "fps": 30.0 if kind == "video" else None,
        "bitrate": bitrate,
        "rotation": 0,
        "orientation": orientation,
        "animated": False,
        "transparency": False,
        "has_video": kind != "audio",
        "has_audio": kind != "image",
    }


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _dimension(value: Any, source: int) -> int | None:
    if isinstance(value, str) and value.endswith("%"):
        return round(source * float(value[:-1]) / 100)
    number = _number(value)
    return None if number is None else int(number)


def _output_size(options: Mapping[str, Any]) -> tuple[int, int]:
    width = _dimension(options.get("width"), SOURCE_WIDTH)
    height = _dimension(options.get("height"), SOURCE_HEIGHT)
    # One side given: the other keeps the source aspect ratio, rounded to an even number.
    if width and not height:
        height = 2 * round(width * SOURCE_HEIGHT / SOURCE_WIDTH / 2)
    elif height and not width:
        width = 2 * round(height * SOURCE_WIDTH / SOURCE_HEIGHT / 2)
    return (width or SOURCE_WIDTH, height or SOURCE_HEIGHT)


def _clip_duration(options: Mapping[str, Any]) -> float:
    start = _number(options.get("start")) or 0.0
    end = _number(options.get("end")) or SOURCE_DURATION_S
    return round(max(0.1, min(end, SOURCE_DURATION_S) - min(start, SOURCE_DURATION_S)), 3)
