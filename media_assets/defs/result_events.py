"""How one stage's result for one file reads in the Dagster UI: metadata, description and tags.

What a person looks for comes first in the metadata table (the preview, the status, why a stage
failed or does not apply, where the output is), then the output's facts, then the source's probe
(container, codecs, frame rate, bitrate, duration, size, rotation), then bookkeeping. Times are
timestamps, the output's URL is ``dagster/uri`` (a ``file://`` URL for a local output, which
resolves after every process has exited) and a local output's file is a path.

A not-applicable stage is a materialization (there is nothing left to do) but says so first in
its metadata (``outcome``), in its description and in its ``media_assets/status`` tag; a failure
is an observation saying why in the same three places. ``latest_results.media_result`` reads
the metadata back.
"""

from __future__ import annotations

import re
from typing import Any

import dagster as dg

from media_assets.engine.chain import StageReport
from media_assets.outputs.locations import LocalOutputs
from media_assets.results import ResultStatus, Stage

STATUS_TAG = "media_assets/status"
ERROR_KIND_TAG = "media_assets/error_kind"
# Tag values: at most 63 characters of letters, digits, '_', '-' and '.'.
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_FIRST = ("status", "error_kind", "error_message")


def result_metadata(report: StageReport, outputs: LocalOutputs | None) -> dict[str, Any]:
    """The metadata of a result's event, in the order a person reads it."""
    values = report.metadata()
    ordered: dict[str, Any] = {}
    preview = preview_markdown(report, outputs)
    if preview is not None:
        ordered["preview"] = preview
    if report.result.status in (ResultStatus.NOT_APPLICABLE, ResultStatus.FAILED):
        # A partition's page shows metadata but not the event's description: say it first.
        word, _, reason = result_description(report).partition(": ")
        ordered["outcome"] = dg.MetadataValue.md(f"**{word}**: {reason}")
    for name in _FIRST:
        if name in values:
            ordered[name] = values.pop(name)
    if "output_url" in values:
        ordered["dagster/uri"] = values.pop("output_url")
    if "output_path" in values:
        ordered["output_path"] = dg.MetadataValue.path(values.pop("output_path"))
    for name in ("created_at", "completed_at"):
        if name in values:
            values[name] = dg.MetadataValue.timestamp(values[name] / 1000)
    link = browsable_url(report, outputs)
    if link is not None:
        ordered["output_link"] = dg.MetadataValue.url(link)
    ordered.update(values)
    return ordered


def browsable_url(report: StageReport, outputs: LocalOutputs | None) -> str | None:
    """The output at an http(s) URL a browser can open: the local service's, for a local one.

    A local output's link answers whenever a local service with the same output folder runs at
    the same address (``media-assets dev`` keeps one), for outputs of earlier runs too.
    """
    url = report.result.output_url
    if not url:
        return None
    if outputs is not None:
        url = outputs.preview_url(url)
    return url if url.startswith(("http://", "https://")) else None


def preview_markdown(
    report: StageReport, outputs: LocalOutputs | None
) -> dg.MarkdownMetadataValue | None:
    """A thumbnail's image, linking to the full file."""
    if report.result.stage != Stage.THUMBNAIL:
        return None
    url = browsable_url(report, outputs)
    if url is None:
        return None
    return dg.MetadataValue.md(f"[![thumbnail of {report.result.partition_key}]({url})]({url})")


def result_description(report: StageReport) -> str:
    """One line on what happened, shown with the event in the UI."""
    result = report.result
    if result.status == ResultStatus.NOT_APPLICABLE:
        return f"Not applicable: {result.error_message}"
    if result.status == ResultStatus.FAILED:
        return f"Failed: {result.error_kind}: {result.error_message}"
    size = f" {result.width}x{result.height}" if result.width and result.height else ""
    length = f", {result.duration_s:.2f} s" if result.duration_s else ""
    reused = " (reused: source and options unchanged)" if result.cached else ""
    return f"{result.format or result.kind or 'output'}{size}{length}{reused}"


def result_tags(report: StageReport) -> dict[str, str]:
    """Tags that make the outcome visible in event lists: the status, and a failure's kind."""
    result = report.result
    tags = {STATUS_TAG: result.status.value}
    if result.status == ResultStatus.FAILED and result.error_kind:
        tags[ERROR_KIND_TAG] = _TAG_UNSAFE.sub("_", result.error_kind)[:63]
    return tags
