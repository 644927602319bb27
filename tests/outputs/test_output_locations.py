"""Mapping the local service's output URLs to files that outlive it, and back for browsers."""

from __future__ import annotations

from pathlib import Path

from media_assets.outputs.locations import LocalOutputs

SERVICE = "http://127.0.0.1:8787"


def outputs_with_file(tmp_path: Path) -> tuple[LocalOutputs, Path]:
    path = tmp_path / "outputs" / "thumbnail" / "clip.mp4-1a2b3c4d" / "my clip.webp"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"RIFF")
    return LocalOutputs(folder=tmp_path / "outputs", service_url=SERVICE), path


def test_a_served_url_becomes_the_files_lasting_url(tmp_path: Path) -> None:
    """The service's /files/ URL of a file in the folder is recorded as its file:// URL."""
    outputs, path = outputs_with_file(tmp_path)
    served = f"{SERVICE}/files/thumbnail/clip.mp4-1a2b3c4d/my%20clip.webp"
    assert outputs.lasting_url(served) == path.as_uri()
    assert outputs.path_of(served) == path


def test_a_lasting_url_is_shown_through_the_service(tmp_path: Path) -> None:
    """For a browser, a file:// URL in the folder is turned back into the service's URL."""
    outputs, path = outputs_with_file(tmp_path)
    assert outputs.preview_url(path.as_uri()) == (
        f"{SERVICE}/files/thumbnail/clip.mp4-1a2b3c4d/my%20clip.webp"
    )


def test_urls_elsewhere_are_kept_as_they_are(tmp_path: Path) -> None:
    """Another host's URL, a missing file, or a path outside the folder stay untouched."""
    outputs, _ = outputs_with_file(tmp_path)
    for url in (
        "https://cdn.example.com/a.webp",
        f"{SERVICE}/files/thumbnail/other/none.webp",
        f"{SERVICE}/files/../../etc/passwd",
        (tmp_path / "elsewhere.webp").as_uri(),
    ):
        assert outputs.lasting_url(url) == url
        assert outputs.path_of(url) is None
