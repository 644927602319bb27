"""Output sizes: aspect kept, even for video, never upscaled; fit modes; filter strings."""

from __future__ import annotations

from typing import Any

import pytest

from media_assets.local_ittybit.media.geometry import (
    expression_filters,
    ffmpeg_colour,
    plan_size,
    size_filters,
)


@pytest.mark.parametrize(
    ("options", "source", "even", "size"),
    [
        ({"width": 1280}, (1920, 1080), True, (1280, 720)),
        ({"width": 640}, (1080, 720), True, (640, 426)),
        ({"width": 640}, (1080, 720), False, (640, 427)),
        ({"height": 360}, (1080, 720), True, (540, 360)),
        ({"width": "50%"}, (1080, 720), True, (540, 360)),
        ({}, (161, 121), True, (160, 120)),
        ({}, (161, 121), False, (161, 121)),
        ({"width": 1280}, (426, 240), True, (426, 240)),
        ({"width": 1280}, (2160, 3840), True, (1280, 2274)),
        ({}, (427, 240), True, (426, 240)),
        ({"width": 640}, (8, 8), True, (8, 8)),
        ({"width": 1}, (8, 8), True, (2, 2)),
    ],
)
def test_single_side_keeps_aspect_without_upscaling(
    options: dict[str, Any], source: tuple[int, int], even: bool, size: tuple[int, int]
) -> None:
    """Width or height alone scales the other side proportionally; odd sizes round to even."""
    plan = plan_size(options, *source, even=even)
    assert (plan.width, plan.height) == size


def test_box_larger_than_source_shrinks_keeping_requested_shape() -> None:
    """A 1280x1280 request on a 640x360 source becomes the largest square that fits: 360x360."""
    plan = plan_size({"width": 1280, "height": 1280, "fit": "fill"}, 640, 360, even=True)
    assert (plan.width, plan.height) == (360, 360)


def test_contain_pads_and_cover_crops() -> None:
    """contain scales inside the box then pads; cover scales over the box then crops."""
    contain = plan_size({"width": 320, "height": 320, "fit": "contain"}, 1080, 720, even=True)
    assert (contain.width, contain.height, contain.inner_width, contain.inner_height) == (
        320,
        320,
        320,
        212,
    )
    padded = size_filters(contain, position="top", background="#ff0000", transparent_ok=False)
    assert padded[-1] == "pad=320:320:(ow-iw)/2:0:color=0xff0000"

    cover = plan_size({"width": 320, "height": 320, "fit": "cover"}, 1080, 720, even=True)
    assert (cover.inner_width, cover.inner_height) == (480, 320)
    cropped = size_filters(cover, position="right", background=None, transparent_ok=False)
    assert cropped[-1] == "crop=320:320:in_w-out_w:(in_h-out_h)/2"


def test_colours_and_expression_fallback() -> None:
    """Backgrounds map to ffmpeg colours; unknown source sizes fall back to scale expressions."""
    assert ffmpeg_colour(None, transparent_ok=True) == "black@0"
    assert ffmpeg_colour(None, transparent_ok=False) == "black"
    assert ffmpeg_colour("#11223380", transparent_ok=False) == "0x112233@0.502"
    assert expression_filters({"width": 640}, even=True)[0] == "scale=640:-2"
    assert expression_filters({"height": "50%"}, even=True)[0] == "scale=-2:trunc(ih*0.5/2)*2"
    assert expression_filters({}, even=False) == []
