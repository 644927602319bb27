"""Guessing a source's media kind before a job has probed it."""

from pathlib import Path

import pytest

from media_assets.engine.media_kind import (
    KindGuess,
    guess_media_kind,
    kind_from_bytes,
    kind_from_name,
)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n", "image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image"),
        (b"\x00\x00\x00\x1cftypavif", "image"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio"),
        (b"\xff\xfb\x90\x64\x00", "audio"),
        (b"fLaC\x00\x00\x00\x22", "audio"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "audio"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video"),
        (b"\x00\x00\x00\x14ftypqt  ", "video"),
        (b"\x1aE\xdf\xa3\x9fB\x86\x81", "video"),
        (b"OggS\x00\x02\x00\x00", None),
        (b"this is text", None),
    ],
)
def test_kind_from_the_first_bytes(head: bytes, kind: str | None) -> None:
    """Known signatures name their kind; containers that hold either say nothing."""
    assert kind_from_bytes(head) == kind


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("https://cdn.example/a/clip.MOV", "video"),
        ("s3://bucket/podcasts/ep%201.mp3", "audio"),
        ("file:///srv/media/poster.webp", "image"),
        ("https://cdn.example/stream?id=7", None),
        ("https://cdn.example/notes.txt", None),
    ],
)
def test_kind_from_the_extension(uri: str, kind: str | None) -> None:
    """A known media extension names the kind, case aside; anything else names none."""
    assert kind_from_name(uri) == kind


def test_content_beats_the_extension(tmp_path: Path) -> None:
    """A local file's bytes win over its name: an mp3 called .mp4 is audio."""
    mislabelled = tmp_path / "tone.mp4"
    mislabelled.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(64))
    assert guess_media_kind(mislabelled.as_uri(), local_path=mislabelled) == KindGuess(
        "audio", "content"
    )


def test_the_extension_beats_the_declared_kind() -> None:
    """A JSONL kind may name the job wanted (audio of a video), so a known extension wins."""
    guess = guess_media_kind("https://cdn.example/talk.mov", declared="audio")
    assert guess == KindGuess("video", "extension")


def test_the_declared_kind_serves_when_the_name_says_nothing() -> None:
    """Without a media extension the JSONL kind is the best there is."""
    guess = guess_media_kind("https://cdn.example/stream?id=7", declared="audio")
    assert guess == KindGuess("audio", "declared")


def test_without_anything_known_the_guess_is_video() -> None:
    """A source with no telling name, bytes or declaration is guessed video."""
    assert guess_media_kind("https://cdn.example/blob") == KindGuess("video", "default")
