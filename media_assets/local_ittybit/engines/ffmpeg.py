"""The ffmpeg engine: real probing (PyAV) and encoding (the imageio-ffmpeg binary).

The media work itself lives in ``local_ittybit.media``; this adapter fetches the input, runs
the blocking calls in worker threads so the event loop keeps answering, names and serves the
output at ``/files/<folder>/<input stem>.<ext>``, where the folder is ``<stage>/<partition key>``
for jobs whose metadata names both, else the job id (see ``layout``), and delivers it to the
job's ``output`` destination when there is one.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import httpx

from ..buckets import deliver
from ..config import ServiceConfig
from ..inputs import local_copy, output_stem
from ..jobs import ENCODE_TASK, EXPORT_TASK, IMPORT_TASK, PROBE_TASK, Json, export_destination
from ..layout import output_folder
from ..media import encode, output_extension, probe_file
from .base import JobRun


class FfmpegEngine:
    """Probe, then encode, each job's input."""

    def __init__(self, config: ServiceConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http

    async def run(self, run: JobRun) -> str:
        job = run.job
        kind, options, input_url = job["kind"], job["options"], job["input"]
        run.start_task(PROBE_TASK)
        # The copy to work on is taken before probing: PyAV reads a local file.
        async with local_copy(input_url, self._config, self._http) as source_path:
            source = await run.in_thread(probe_file, source_path)
            source_file = {**source, "url": input_url}
            run.finish_task(PROBE_TASK, source_file)
            run.start_task(IMPORT_TASK, source_file)
            run.finish_task(IMPORT_TASK, source_file)
            run.start_task(ENCODE_TASK, source_file)
            name = f"{output_stem(input_url)}.{output_extension(kind, options)}"
            relative = f"{output_folder(job)}/{name}"
            # Written under a temporary name and renamed (``encode``): a newer job of the same
            # stage and file replaces the output in one step, never leaving half a file.
            target = self._config.files_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            encoded = await run.in_thread(
                encode,
                kind,
                options,
                source_path,
                target,
                probe=source,
                on_progress=run.report_progress,
                cancel=run.cancel,
            )
        url = f"{self._config.base_url}/files/{quote(relative)}"
        output_file = {**encoded, "url": url}
        run.finish_task(ENCODE_TASK, output_file)
        run.start_task(EXPORT_TASK, output_file)
        destination = export_destination(job)
        if destination is not None:
            # An HLS output is its master playlist plus the rendition folders beside it.
            ladder = kind == "adaptive_video"
            await run.in_thread(deliver, target, destination, self._config, with_folder=ladder)
        run.finish_task(EXPORT_TASK, {**output_file, "url": destination or url})
        return url

    async def probe(self, url: str) -> Json:
        async with local_copy(url, self._config, self._http) as path:
            probed = await asyncio.to_thread(probe_file, path)
        return {**probed, "url": url}
