"""Output picture size and the ffmpeg filters that produce it.

Options: width, height, fit, position, background.

Sizes are computed from the probe's display size (square pixels, rotation applied). ffmpeg
autorotates before our filters run, so a numeric ``scale=W:H,setsar=1`` both resizes and squares
anamorphic pixels. We never upscale: a request larger than the source is shrunk to fit it,
keeping the requested shape. Video sizes are even because 4:2:0 encoders refuse odd ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Plan:
    """The output size, and how the picture is placed in it."""

    width: int
    height: int
    fit: str  # fill | contain | cover
    inner_width: int  # the scaled picture before padding (contain) or cropping (cover)
    inner_height: int


def _resolve(value: int | str, source: int) -> float:
    if isinstance(value, str):  # "50%", already validated
        return source * float(value.rstrip("%")) / 100
    return float(value)


def _round(value: float, even: bool) -> int:
    if even:  # down, so an odd source side (427) never grows past itself (428)
        return max(2, 2 * int((value + 1e-6) // 2))
    return max(1, round(value))


def plan_size(options: Mapping[str, Any], src_w: int, src_h: int, *, even: bool) -> Plan:
    """Where the picture goes, for a source shown at ``src_w`` x ``src_h``."""
    want_w: int | str | None = options.get("width")
    want_h: int | str | None = options.get("height")
    fit = "fill"
    if want_w is None and want_h is None:
        width, height = float(src_w), float(src_h)
    elif want_w is not None and want_h is None:
        width = min(_resolve(want_w, src_w), src_w)
        height = width * src_h / src_w
    elif want_h is not None and want_w is None:
        height = min(_resolve(want_h, src_h), src_h)
        width = height * src_w / src_h
    else:
        assert want_w is not None and want_h is not None
        box_w, box_h = _resolve(want_w, src_w), _resolve(want_h, src_h)
        shrink = min(1.0, src_w / box_w, src_h / box_h)
        width, height = box_w * shrink, box_h * shrink
        fit = str(options.get("fit", "fill"))
    out_w, out_h = _round(width, even), _round(height, even)
    if fit == "fill":
        return Plan(out_w, out_h, fit, out_w, out_h)
    scale = (min if fit == "contain" else max)(out_w / src_w, out_h / src_h)
    inner_w, inner_h = _round(src_w * scale, even), _round(src_h * scale, even)
    if fit == "contain":
        inner_w, inner_h = min(inner_w, out_w), min(inner_h, out_h)
    else:
        inner_w, inner_h = max(inner_w, out_w), max(inner_h, out_h)
    return Plan(out_w, out_h, fit, inner_w, inner_h)


def _offsets(position: str, free_x: str, free_y: str) -> tuple[str, str]:
    x = "0" if "left" in position else free_x if "right" in position else f"({free_x})/2"
    y = "0" if "top" in position else free_y if "bottom" in position else f"({free_y})/2"
    return x, y


def ffmpeg_colour(background: str | None, transparent_ok: bool) -> str:
    """ffmpeg colour for padding/flattening: the option, else transparent or black (Ittybit)."""
    if background is None:
        return "black@0" if transparent_ok else "black"
    digits = background.lstrip("#")
    colour = "0x" + digits[:6]
    if len(digits) == 8:
        colour += f"@{int(digits[6:], 16) / 255:.3f}"
    return colour


def size_filters(
    plan: Plan, *, position: str, background: str | None, transparent_ok: bool
) -> list[str]:
    """Filters turning the (autorotated) input into ``plan``'s picture."""
    filters = [f"scale={plan.inner_width}:{plan.inner_height}", "setsar=1"]
    if plan.fit == "contain" and (plan.inner_width, plan.inner_height) != (plan.width, plan.height):
        x, y = _offsets(position, "ow-iw", "oh-ih")
        colour = ffmpeg_colour(background, transparent_ok)
        filters.append(f"pad={plan.width}:{plan.height}:{x}:{y}:color={colour}")
    elif plan.fit == "cover" and (plan.inner_width, plan.inner_height) != (plan.width, plan.height):
        x, y = _offsets(position, "in_w-out_w", "in_h-out_h")
        filters.append(f"crop={plan.width}:{plan.height}:{x}:{y}")
    return filters


def expression_filters(options: Mapping[str, Any], *, even: bool) -> list[str]:
    """Scaling by ffmpeg expressions, for a probe that does not know the source size."""
    step = 2 if even else 1
    keep = "-2" if even else "-1"

    def side(value: int | str | None, axis: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            fraction = float(value.rstrip("%")) / 100
            return f"trunc({axis}*{fraction}/{step})*{step}"
        return str(_round(value, even))

    width = side(options.get("width"), "iw")
    height = side(options.get("height"), "ih")
    if width is None and height is None:
        if not even:
            return []
        return ["scale=trunc(iw/2)*2:trunc(ih/2)*2", "setsar=1"]
    return [f"scale={width or keep}:{height or keep}", "setsar=1"]


def flatten_filter(background: str | None) -> str:
    """Composite a picture with alpha onto an opaque background (for JPEG, H.264, ...)."""
    colour = ffmpeg_colour(background, transparent_ok=False).split("@")[0]
    return (
        f"split[fg][bg];[bg]drawbox=c={colour}@1:replace=1:t=fill[base];"
        "[base][fg]overlay=format=auto"
    )
