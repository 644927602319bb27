"""Whether an output is what its job asked for: the rules of each stage's output check.

Every output must decode (first frames and the tail, ``inspect``) and have the requested format
and codec. Time-based outputs (ingested video and audio, audio, transcoded) must last as long as
the source, within ``DURATION_TOLERANCE_S`` (less a requested ``start``/``end`` cut). Pictures
(ingested video and images, thumbnail, transcoded) must have the requested size with the source's
aspect kept, within ``SIZE_TOLERANCE_PX`` of rounding (a request larger than the source means the
source's size: outputs are never upscaled). A thumbnail must not be blank (one flat colour).

A stage that does not apply has no output and passes, saying why; a stage that failed has none
and fails, with the reason. The expectations come from the source's probe (``MediaFacts``) and
the options the job ran with, not from the service that made the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from media_assets.engine.stages import MediaFacts
from media_assets.outputs.inspect import OutputFacts
from media_assets.results import MediaResult, ResultStatus, Stage

DURATION_TOLERANCE_S = 0.1
SIZE_TOLERANCE_PX = 2
# Below this standard deviation of luma (0-255) a picture is one flat colour.
BLANK_SPREAD = 2.0

# The codec each requested format implies, where the format alone decides it.
_VIDEO_CODEC_BY_FORMAT = {"mp4": "h264", "mov": "h264", "webm": "vp9", "hls": "h264"}
_IMAGE_CODEC_BY_FORMAT = {"webp": "webp", "png": "png", "jpeg": "mjpeg", "avif": "av1"}
_AUDIO_CODEC_BY_FORMAT = {
    "mp3": "mp3",
    "aac": "aac",
    "ogg": "vorbis",
    "opus": "opus",
    "wav": "pcm_s16le",
    "flac": "flac",
}
_TIMED_STAGES = frozenset({Stage.INGESTED, Stage.AUDIO, Stage.TRANSCODED, Stage.ADAPTIVE_VIDEO})
_PICTURE_STAGES = frozenset({Stage.INGESTED, Stage.THUMBNAIL, Stage.TRANSCODED})


@dataclass(frozen=True)
class CheckOutcome:
    """One output's verdict: passed or not, one line a person reads, and what was measured."""

    passed: bool
    summary: str
    findings: dict[str, Any] = field(default_factory=dict)


def outcome_without_output(result: MediaResult) -> CheckOutcome | None:
    """The verdict on a stage with no output (not applicable or failed); None if it has one."""
    if result.status == ResultStatus.NOT_APPLICABLE:
        return CheckOutcome(True, f"Not applicable: {result.error_message}; no output to check")
    if result.status == ResultStatus.FAILED:
        return CheckOutcome(
            False,
            f"No output: {result.stage} failed: {result.error_kind}: {result.error_message}",
        )
    return None


def check_output(
    stage: Stage,
    kind: str,
    options: Mapping[str, Any],
    source: MediaFacts | None,
    output: OutputFacts,
) -> CheckOutcome:
    """Judge the output of a ``kind`` job with ``options`` made for ``stage`` from ``source``."""
    problems: list[str] = []
    passed: list[str] = []
    findings: dict[str, Any] = {
        "format": output.format,
        "codec": output.video_codec or output.audio_codec,
    }
    if output.decode_error is not None:
        findings["decode_error"] = output.decode_error
        return CheckOutcome(False, f"does not decode: {output.decode_error}", findings)
    passed.append("decodes")
    _check_format_and_codec(kind, options, output, problems, passed)
    if stage in _TIMED_STAGES and kind in ("video", "audio", "adaptive_video"):
        _check_duration(options, source, output, findings, problems, passed)
    if stage in _PICTURE_STAGES and kind in ("video", "image"):
        _check_size(options, source, output, findings, problems, passed)
    if stage == Stage.THUMBNAIL:
        findings["picture_spread"] = output.picture_spread
        if output.picture_spread is not None and output.picture_spread < BLANK_SPREAD:
            problems.append("the picture is blank (one flat colour)")
        else:
            passed.append("not blank")
    if problems:
        return CheckOutcome(False, "; ".join(problems), findings)
    return CheckOutcome(True, "; ".join(passed), findings)


def _check_format_and_codec(
    kind: str,
    options: Mapping[str, Any],
    output: OutputFacts,
    problems: list[str],
    passed: list[str],
) -> None:
    wanted_format = options.get("format")
    if wanted_format and output.format != wanted_format:
        problems.append(f"format {output.format}, asked {wanted_format}")
        return
    wanted_codec: str | None
    if kind in ("video", "adaptive_video"):
        wanted_codec = options.get("codec") or _VIDEO_CODEC_BY_FORMAT.get(str(wanted_format))
        actual = output.video_codec
    elif kind == "image":
        wanted_codec = _IMAGE_CODEC_BY_FORMAT.get(str(wanted_format))
        actual = output.video_codec
    else:
        wanted_codec = _AUDIO_CODEC_BY_FORMAT.get(str(wanted_format))
        actual = output.audio_codec
    if wanted_codec and actual != wanted_codec:
        problems.append(f"codec {actual}, asked {wanted_codec}")
        return
    passed.append(" ".join(filter(None, [wanted_format, actual and f"({actual})"])) or "format")


def _check_duration(
    options: Mapping[str, Any],
    source: MediaFacts | None,
    output: OutputFacts,
    findings: dict[str, Any],
    problems: list[str],
    passed: list[str],
) -> None:
    if source is None or not source.duration_s:
        passed.append("duration not compared (source duration unknown)")
        return
    start = float(options.get("start") or 0)
    end = min(float(options["end"]), source.duration_s) if "end" in options else source.duration_s
    expected = max(0.0, end - start)
    findings["duration_s"] = output.duration_s
    findings["expected_duration_s"] = round(expected, 3)
    if output.duration_s is None:
        problems.append("no duration")
    elif abs(output.duration_s - expected) > DURATION_TOLERANCE_S:
        problems.append(
            f"lasts {output.duration_s:.2f} s, the source {expected:.2f} s "
            f"(more than {DURATION_TOLERANCE_S:g} s apart)"
        )
    else:
        passed.append(f"{output.duration_s:.2f} s like the source")


def _check_size(
    options: Mapping[str, Any],
    source: MediaFacts | None,
    output: OutputFacts,
    findings: dict[str, Any],
    problems: list[str],
    passed: list[str],
) -> None:
    findings["width"], findings["height"] = output.width, output.height
    if not output.width or not output.height:
        problems.append("no picture size")
        return
    if source is None or not source.width or not source.height:
        passed.append(f"{output.width}x{output.height} (source size unknown)")
        return
    expected = expected_size(options, source.width, source.height)
    findings["expected_width"], findings["expected_height"] = expected
    if (
        abs(output.width - expected[0]) > SIZE_TOLERANCE_PX
        or abs(output.height - expected[1]) > SIZE_TOLERANCE_PX
    ):
        problems.append(
            f"{output.width}x{output.height}, asked {expected[0]}x{expected[1]} "
            f"(source {source.width}x{source.height})"
        )
    else:
        passed.append(f"{output.width}x{output.height} as asked")


def expected_size(options: Mapping[str, Any], src_w: int, src_h: int) -> tuple[int, int]:
    """The size an output should have: the request, aspect kept, never larger than the source.

    Percentages (``"50%"``) are of the source side. With both sides given the output is that box
    (shrunk as a whole if the source is smaller); with one, the other follows the source's aspect.
    """
    want_w = _side(options.get("width"), src_w)
    want_h = _side(options.get("height"), src_h)
    if want_w is None and want_h is None:
        return src_w, src_h
    if want_w is not None and want_h is None:
        width = min(want_w, src_w)
        return round(width), round(width * src_h / src_w)
    if want_h is not None and want_w is None:
        height = min(want_h, src_h)
        return round(height * src_w / src_h), round(height)
    assert want_w is not None and want_h is not None
    shrink = min(1.0, src_w / want_w, src_h / want_h)
    return round(want_w * shrink), round(want_h * shrink)


def _side(value: Any, source: int) -> float | None:
    if value is None:
        return None
    if isinstance(value, str) and value.endswith("%"):
        return source * float(value.rstrip("%")) / 100
    return float(value)
