"""Where the ffmpeg engine puts outputs: a browsable folder, by stage and file, that outlives it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from local_service_helpers import RunningService, StartService, create_job, wait_for_status
from media_clips import make_clip

from media_assets.local_ittybit.layout import folder_name

JOB_TIMEOUT_S = 60


@pytest.fixture
def library(tmp_path: Path, sample_clip: Path) -> Path:
    root = tmp_path / "library"
    root.mkdir()
    (root / "clip.mp4").write_bytes(sample_clip.read_bytes())
    return root


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    return tmp_path / "kept-outputs"


@pytest.fixture
def ffmpeg_service(start_service: StartService, library: Path, outputs: Path) -> RunningService:
    return start_service(engine="ffmpeg", workers=2, allow_roots=(library,), output_dir=outputs)


def _file_url(path: Path) -> str:
    return "file://" + quote(str(path))


def _run(service: RunningService, **body: object) -> dict[str, object]:
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        job = create_job(http, **body)
        done = wait_for_status(http, str(job["id"]), timeout=JOB_TIMEOUT_S)
    assert done["status"] == "succeeded", done["error"]
    return done


def test_output_lands_by_stage_and_partition_in_the_output_folder(
    ffmpeg_service: RunningService, library: Path, outputs: Path
) -> None:
    """A job naming its stage and partition writes output_dir/stage/key/stem.ext and serves it."""
    done = _run(
        ffmpeg_service,
        kind="image",
        input=_file_url(library / "clip.mp4"),
        options={"width": 64},
        metadata={"partition_key": "clip.mp4-1a2b3c4d", "stage": "thumbnail"},
    )
    expected = outputs / "thumbnail" / "clip.mp4-1a2b3c4d" / "clip.webp"
    assert expected.is_file()
    served_path = "/files/thumbnail/clip.mp4-1a2b3c4d/clip.webp"
    assert done["output"] == f"{ffmpeg_service.base_url}{served_path}"
    served = httpx.get(str(done["output"]), timeout=10)
    assert served.status_code == 200 and served.content == expected.read_bytes()


def test_a_job_without_stage_metadata_uses_its_id_as_folder(
    ffmpeg_service: RunningService, library: Path, outputs: Path
) -> None:
    """Without stage and partition metadata the output goes to output_dir/<job id>/."""
    done = _run(ffmpeg_service, kind="image", input=_file_url(library / "clip.mp4"))
    assert (outputs / str(done["id"]) / "clip.webp").is_file()


def test_a_newer_job_of_the_same_stage_and_file_replaces_the_output(
    ffmpeg_service: RunningService, library: Path, outputs: Path
) -> None:
    """The folder holds the latest output of each stage and file, at the same path."""
    metadata = {"partition_key": "clip.mp4-1a2b3c4d", "stage": "thumbnail"}
    source = _file_url(library / "clip.mp4")
    _run(ffmpeg_service, kind="image", input=source, options={"width": 64}, metadata=metadata)
    first = (outputs / "thumbnail" / "clip.mp4-1a2b3c4d" / "clip.webp").stat().st_size
    _run(ffmpeg_service, kind="image", input=source, options={"width": 200}, metadata=metadata)
    folder = outputs / "thumbnail" / "clip.mp4-1a2b3c4d"
    assert [path.name for path in folder.iterdir()] == ["clip.webp"]
    assert (folder / "clip.webp").stat().st_size != first


@pytest.mark.parametrize("key", ["../../escape", ".hidden", "https://x.example/a b.mp4", ""])
def test_metadata_cannot_place_outputs_outside_their_folder(key: str) -> None:
    """A folder name from metadata never climbs out of its parent or hides itself."""
    name = folder_name(key)
    assert "/" not in name and not name.startswith(".") and name


def test_cleaned_folder_names_do_not_collide() -> None:
    """Two keys that clean to the same text still get two folders."""
    assert folder_name("a/b.mp4") != folder_name("a_b.mp4")
    assert folder_name("clip.mp4-1a2b3c4d") == "clip.mp4-1a2b3c4d"


def test_an_output_file_url_is_an_input_after_a_restart(
    start_service: StartService, library: Path, outputs: Path, tmp_path: Path
) -> None:
    """A later service reads an earlier output by its file:// URL, with no extra allowed root."""
    first = start_service(engine="ffmpeg", allow_roots=(library,), output_dir=outputs)
    ingest = _run(
        first,
        input=_file_url(library / "clip.mp4"),
        metadata={"partition_key": "clip.mp4-1a2b3c4d", "stage": "ingested"},
    )
    ingested = outputs / "ingested" / "clip.mp4-1a2b3c4d" / "clip.mp4"
    assert str(ingest["output"]).endswith("/files/ingested/clip.mp4-1a2b3c4d/clip.mp4")
    later = start_service(engine="ffmpeg", output_dir=outputs)  # no allowed roots at all
    thumb = _run(later, kind="image", input=ingested.as_uri(), options={"width": 32})
    assert (outputs / str(thumb["id"]) / "clip.webp").is_file()


def test_accented_names_keep_their_letters_in_the_output_name(
    start_service: StartService, tmp_path: Path, outputs: Path
) -> None:
    """'Café noir.mp4' gives 'Cafe_noir.webp', as its partition key keeps 'Cafe'."""
    folder = tmp_path / "accents"
    source = make_clip(folder / "Café noir.mp4", seconds=1)
    service = start_service(engine="ffmpeg", allow_roots=(folder,), output_dir=outputs)
    done = _run(service, kind="image", input=source.as_uri())
    assert str(done["output"]).endswith("/Cafe_noir.webp")
    assert (outputs / str(done["id"]) / "Cafe_noir.webp").is_file()
