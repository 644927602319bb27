"""Fixtures of the pipeline tests: generated media, the local service, a Dagster instance."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from pipeline_bench import CORPUS, PipelineBench, make_media_library

from media_assets.local_ittybit.config import ServiceConfig
from media_assets.local_ittybit.server import running_in_thread


@pytest.fixture(scope="session")
def media_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of short generated clips, a silent clip, an mp3, a png, and two broken files."""
    return make_media_library(tmp_path_factory.mktemp("library"))


@pytest.fixture
def bench(tmp_path: Path, home: Path, media_library: Path) -> Iterator[PipelineBench]:
    """Work folder in tmp, the local ffmpeg service reading the libraries, a test instance."""
    scratch = tmp_path / "scratch"  # a library folder tests may change
    scratch.mkdir()
    roots = [media_library, scratch] + ([CORPUS.resolve()] if CORPUS.is_dir() else [])
    config = ServiceConfig(
        port=0,
        data_dir=tmp_path / "ittybit",
        output_dir=home / "outputs",
        engine="ffmpeg",
        allow_roots=tuple(roots),
    )
    dagster_dir = tmp_path / "dagster"
    dagster_dir.mkdir()
    with (
        running_in_thread(config) as service,
        dg.instance_for_test(temp_dir=str(dagster_dir)) as instance,
    ):
        yield PipelineBench(
            instance=instance, service=service, library=media_library, home=home, scratch=scratch
        )
