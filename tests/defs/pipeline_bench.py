"""Helpers of the pipeline tests: generated media, and a bench over the local service and Dagster.

Nothing is mocked: the media files are made by ``media_clips`` (the imageio-ffmpeg binary), the
service is the real local Ittybit service on a free loopback port, and runs go through
``dg.materialize`` on an on-disk test instance.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import dagster as dg
import httpx
from media_clips import make_clip, make_still, make_tone

from media_assets.defs.media_pipeline import build_media_pipeline
from media_assets.defs.partitions import register_sources
from media_assets.defs.resources import IttybitResource
from media_assets.defs.sensors import RANGE_END_TAG, RANGE_START_TAG
from media_assets.local_ittybit.server import RunningService
from media_assets.sources import discover

MEDIA_PIPELINE = build_media_pipeline(files_per_run=25)
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"

# file name -> how to make it in a library folder
_MEDIA: dict[str, Callable[[Path], Path]] = {
    # Wider than both the thumbnail (640) and the transcode (1280), so both really scale down.
    "wide-clip.mp4": lambda path: make_clip(path, size="1600x900", rate=15, seconds=2.5),
    "small-clip.mp4": lambda path: make_clip(path, size="320x240", seconds=2),
    "portrait-clip.mp4": lambda path: make_clip(path, size="240x320", seconds=2),
    "silent-clip.mp4": lambda path: make_clip(path, size="320x240", seconds=2, audio=False),
    "tone.mp3": lambda path: make_tone(path, seconds=2),
    "still.png": lambda path: make_still(path, size="400x300"),
}

GOOD_FILES: tuple[str, ...] = tuple(_MEDIA)
# Broken on purpose: an empty mp4 and a text file wearing a video extension.
BROKEN_FILES: dict[str, bytes] = {
    "zero-bytes.mp4": b"",
    "notes-not-video.mov": b"this is a text file, not a QuickTime movie\n" * 20,
}
ALL_FILES: tuple[str, ...] = (*GOOD_FILES, *BROKEN_FILES)


def make_media_library(folder: Path) -> Path:
    """Write short generated clips, a silent clip, an mp3, a png, and two broken files."""
    for name, make in _MEDIA.items():
        make(folder / name)
    for name, data in BROKEN_FILES.items():
        (folder / name).write_bytes(data)
    return folder


@dataclass
class PipelineBench:
    """One test's world: a work folder, a running local service and a Dagster instance."""

    instance: dg.DagsterInstance
    service: RunningService
    library: Path  # the generated media, shared by every test: never change it
    home: Path  # MEDIA_ASSETS_HOME
    scratch: Path  # an empty folder the service may read, for files a test changes

    @property
    def outputs(self) -> Path:
        """The local service's output folder (MEDIA_ASSETS_HOME/outputs)."""
        return self.service.config.files_dir

    @property
    def resource(self) -> IttybitResource:
        return IttybitResource(base_url=self.service.base_url, output_dir=str(self.outputs))

    def register(self, names: Sequence[str], folder: Path | None = None) -> list[str]:
        """Register the named files of ``folder`` (default: the library); their keys, in order."""
        base = folder or self.library
        files, errors = discover([base / name for name in names])
        assert not errors, errors
        assert [file.name for file in files] == list(names)
        register_sources(self.instance, files)
        return [file.key for file in files]

    def materialize_one(
        self, key: str, selection: Sequence[str] | None = None
    ) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [MEDIA_PIPELINE],
            instance=self.instance,
            partition_key=key,
            selection=list(selection) if selection is not None else None,
            resources={"ittybit": self.resource},
            raise_on_error=False,
        )

    def materialize_range(self, first: str, last: str) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [MEDIA_PIPELINE],
            instance=self.instance,
            tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
            resources={"ittybit": self.resource},
            raise_on_error=False,
        )

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.service.base_url}/_local/stats", timeout=10)
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def job(self, job_id: str) -> dict[str, Any]:
        response = httpx.get(f"{self.service.base_url}/jobs/{job_id}", timeout=10)
        response.raise_for_status()
        job: dict[str, Any] = response.json()
        return job

    def materializations(
        self, stage: str, key: str | None = None, run_id: str | None = None
    ) -> list[dg.AssetMaterialization]:
        """Materializations of ``stage`` (optionally one partition / one run), oldest first."""
        return [
            event
            for event in self._events(self.instance.fetch_materializations, stage, key, run_id)
            if isinstance(event, dg.AssetMaterialization)
        ]

    def observations(
        self, stage: str, key: str | None = None, run_id: str | None = None
    ) -> list[dg.AssetObservation]:
        """Observations of ``stage`` (optionally one partition / one run), oldest first."""
        return [
            event
            for event in self._events(self.instance.fetch_observations, stage, key, run_id)
            if isinstance(event, dg.AssetObservation)
        ]

    def _events(self, fetch: Any, stage: str, key: str | None, run_id: str | None) -> list[object]:
        records = fetch(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(stage), asset_partitions=[key] if key else None
            ),
            limit=1000,
            ascending=True,
        ).records
        return [
            record.asset_event for record in records if run_id is None or record.run_id == run_id
        ]

    def check_evaluations(self, run_id: str) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
        """The output checks a run evaluated, by (stage, partition); the last one of each."""
        found: dict[tuple[str, str], dg.AssetCheckEvaluation] = {}
        for entry in self.instance.all_logs(
            run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ):
            assert entry.dagster_event is not None
            evaluation = entry.dagster_event.asset_check_evaluation_data
            assert evaluation.partition is not None
            found[(evaluation.asset_key.path[-1], evaluation.partition)] = evaluation
        return found

    def step_failure_description(self, run_id: str) -> str:
        """The ``Failure`` description the pipeline step ended with."""
        failures = self.instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        assert len(failures) == 1, failures
        event = failures[0].dagster_event
        assert event is not None
        data = event.step_failure_data
        assert data.user_failure_data is not None
        description = data.user_failure_data.description
        assert description is not None
        return description


def metadata_values(event: dg.AssetMaterialization | dg.AssetObservation) -> dict[str, Any]:
    """Plain metadata values of an event (URLs and markdown as their text)."""
    return {name: value.value for name, value in event.metadata.items()}


def fetch_output(url: str, target: Path) -> Path:
    """Copy the output at ``url`` (a served http URL, or a file:// URL) to ``target``."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        source = Path(unquote(parts.path))
        assert source.is_file(), f"{url}: no such file"
        target.write_bytes(source.read_bytes())
        return target
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
    assert response.content, f"{url}: empty body"
    target.write_bytes(response.content)
    return target
