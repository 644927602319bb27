"""Discovering a library: keys, folders, JSONL manifests, URLs and errors."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from media_assets.sources import (
    SourceFile,
    discover,
    file_uri,
    fingerprint_file,
    partition_key_for,
    path_from_file_uri,
)

SAFE_KEY = re.compile(r"^[A-Za-z0-9_.:@/-]+$")


def write(path: Path, data: bytes = b"media") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def names(files: list[SourceFile]) -> list[str]:
    return [file.name for file in files]


@pytest.mark.parametrize(
    "name",
    [
        "clip.mp4",
        "a...b*c.mp4",
        "  spaces and, commas [1].mov",
        ".mp4",
        "no_extension",
        "動画.mp4",
        "x" * 300 + ".mp4",
        "weird.ext" + "e" * 40,
        "-leading-dash.mp4",
        "tab\there|pipe.mkv",
    ],
)
def test_keys_are_safe(name: str) -> None:
    """Keys use only the UI-safe characters, never '..' or '*', and stay within 64 characters."""
    key = partition_key_for(file_uri(f"/library/{name}"))
    assert SAFE_KEY.match(key), key
    assert ".." not in key and "*" not in key
    assert len(key) <= 64
    assert key[0].isalnum()


def test_key_is_stable() -> None:
    """The same URI always gives the same key."""
    uri = "https://cdn.example.com/videos/clip%20one.mp4"
    assert partition_key_for(uri) == partition_key_for(uri)


def test_key_keeps_readable_stem_and_extension() -> None:
    """A plain name shows up unchanged, extension included, before an 8-hex-digit hash."""
    key = partition_key_for(file_uri("/library/clip_one.mp4"))
    assert re.fullmatch(r"clip_one\.mp4-[0-9a-f]{8}", key)


def test_duplicate_names_get_distinct_keys() -> None:
    """Equal file names in different folders share the stem but not the key."""
    first = partition_key_for(file_uri("/library/a/clip.mp4"))
    second = partition_key_for(file_uri("/library/b/clip.mp4"))
    assert first != second
    assert first.startswith("clip.mp4-") and second.startswith("clip.mp4-")


def test_unicode_names_are_transliterated() -> None:
    """Accented names become readable ASCII stems."""
    key = partition_key_for(file_uri("/library/Café Olé.mov"))
    assert key.startswith("Cafe_Ole.mov-")


def test_untransliterable_names_fall_back_and_stay_distinct() -> None:
    """Names with no ASCII equivalent get the 'file' stem and distinct keys."""
    first = partition_key_for(file_uri("/library/動画.mp4"))
    second = partition_key_for(file_uri("/library/映像.mp4"))
    assert first.startswith("file.mp4-") and second.startswith("file.mp4-")
    assert first != second


def test_url_key_uses_last_path_segment() -> None:
    """URL sources are named after the last segment of their path."""
    assert partition_key_for("s3://bucket/videos/intro.mov").startswith("intro.mov-")


def test_file_uri_round_trips() -> None:
    """file:// URIs are percent-encoded and decode back to the same path."""
    path = "/library/a folder/Café #1.mp4"
    uri = file_uri(path)
    assert uri.startswith("file:///library/a%20folder/")
    assert path_from_file_uri(uri) == Path(path)


def test_fingerprint_is_content_based(tmp_path: Path) -> None:
    """Identical content gives identical fingerprints, wherever the file is."""
    data = os.urandom(300_000)
    first = write(tmp_path / "a.bin", data)
    second = write(tmp_path / "b" / "c.bin", data)
    assert fingerprint_file(first, len(data)) == fingerprint_file(second, len(data))
    assert fingerprint_file(first, len(data)).startswith("s256:")


def test_fingerprint_sees_a_changed_tail(tmp_path: Path) -> None:
    """Changing the last bytes of a large file changes its fingerprint."""
    data = bytearray(os.urandom(300_000))
    path = write(tmp_path / "a.bin", bytes(data))
    before = fingerprint_file(path, len(data))
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert fingerprint_file(path, len(data)) != before


def test_folder_is_walked_recursively_in_order(tmp_path: Path) -> None:
    """Files come before sub-folders, each sorted by name, with relative display names."""
    for relative in ["b.mp4", "a.mp4", "sub/z.mp4", "sub/deeper/y.mp4", "another/x.mp4"]:
        write(tmp_path / relative)
    files, errors = discover([str(tmp_path)])
    assert errors == []
    assert names(files) == ["a.mp4", "b.mp4", "another/x.mp4", "sub/z.mp4", "sub/deeper/y.mp4"]


def test_folder_files_carry_facts(tmp_path: Path) -> None:
    """Folder files get an absolute file:// URI, size, mtime and fingerprint."""
    path = write(tmp_path / "clip.mp4", b"12345")
    [file], _ = discover([str(tmp_path)])
    assert file.uri == path.resolve().as_uri()
    assert file.size == 5
    assert file.mtime_ns == path.stat().st_mtime_ns
    assert file.fingerprint == fingerprint_file(path, 5)
    assert file.local_path == path.resolve()


def test_fingerprint_can_be_skipped(tmp_path: Path) -> None:
    """with_fingerprint=False leaves the fingerprint out."""
    write(tmp_path / "clip.mp4")
    [file], _ = discover([str(tmp_path)], with_fingerprint=False)
    assert file.fingerprint is None and file.size == 5


def test_hidden_and_temporary_files_are_ignored(tmp_path: Path) -> None:
    """Hidden files and folders, editor backups and partial downloads are not sources."""
    ignored = [
        ".DS_Store",
        ".hidden/clip.mp4",
        "~lock.mp4",
        "~tmpdir/clip.mp4",
        "upload.mp4.tmp",
        "movie.part",
        "movie.PARTIAL",
        "movie.crdownload",
        "movie.download",
        "notes.swp",
    ]
    for relative in [*ignored, "keep.mp4"]:
        write(tmp_path / relative)
    files, errors = discover([str(tmp_path)])
    assert names(files) == ["keep.mp4"] and errors == []


def test_zero_byte_files_are_sources(tmp_path: Path) -> None:
    """An empty file is still listed; the pipeline reports why it fails."""
    write(tmp_path / "empty.mp4", b"")
    [file], _ = discover([str(tmp_path)])
    assert file.size == 0 and file.fingerprint is not None


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    """A path that does not exist is reported, not skipped."""
    missing = str(tmp_path / "nope")
    files, errors = discover([missing])
    assert files == []
    assert [(error.source, error.reason) for error in errors] == [
        (missing, "no such file or folder")
    ]


def test_unreadable_folder_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sub-folder that cannot be listed is reported and the rest is kept."""
    write(tmp_path / "ok.mp4")
    locked = tmp_path / "locked"
    write(locked / "secret.mp4")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        # Permissions cannot lock out root, so refuse the listing directly.
        if path == str(locked):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files, errors = discover([str(tmp_path)])
    assert names(files) == ["ok.mp4"]
    assert [(error.source, error.reason) for error in errors] == [
        (str(locked), "cannot read folder: Permission denied")
    ]


def test_unsupported_scheme_is_an_error() -> None:
    """URLs Ittybit cannot read (gs://, ftp://) are reported with the reason."""
    files, errors = discover(["gs://bucket/a.mov", "ftp://host/b.mov"])
    assert files == []
    assert [error.source for error in errors] == ["gs://bucket/a.mov", "ftp://host/b.mov"]
    assert all("unsupported URL scheme" in error.reason for error in errors)


def test_http_and_s3_urls_are_sources() -> None:
    """http(s) and s3 URLs are kept verbatim, with no local facts."""
    files, errors = discover(["https://cdn.example.com/a/clip.mp4?sig=1", "s3://bucket/b.mov"])
    assert errors == []
    assert [file.uri for file in files] == [
        "https://cdn.example.com/a/clip.mp4?sig=1",
        "s3://bucket/b.mov",
    ]
    assert [file.name for file in files] == ["clip.mp4", "b.mov"]
    assert all(file.size is None and file.fingerprint is None for file in files)


def test_url_without_host_is_an_error() -> None:
    """A URL with no host or an s3 URL without object key is reported."""
    _, errors = discover(["https:///clip.mp4", "s3://bucket/"])
    assert [error.reason for error in errors] == ["URL has no host", "s3 URL has no object key"]


def test_single_file_and_file_url_are_sources(tmp_path: Path) -> None:
    """A plain path to a file and a file:// URL both name one source."""
    first = write(tmp_path / "one.mp4")
    second = write(tmp_path / "two words.mp4")
    files, errors = discover([str(first), second.as_uri()])
    assert errors == []
    assert names(files) == ["one.mp4", "two words.mp4"]


def test_duplicate_sources_appear_once(tmp_path: Path) -> None:
    """The same file reached twice (folder twice, then directly) is listed once."""
    clip = write(tmp_path / "clip.mp4")
    files, _ = discover([str(tmp_path), str(tmp_path), str(clip), clip.as_uri()])
    assert names(files) == ["clip.mp4"]


def test_jsonl_url_entries_with_per_stage_options(tmp_path: Path) -> None:
    """'url' entries keep their per-stage options."""
    manifest = tmp_path / "library.jsonl"
    entry = {
        "url": "https://cdn.example.com/clip.mp4",
        "options": {"thumbnail": {"width": 320}, "transcoded": {"width": 1920}},
    }
    manifest.write_text(json.dumps(entry) + "\n")
    [file], errors = discover([str(manifest)])
    assert errors == []
    assert file.uri == "https://cdn.example.com/clip.mp4"
    assert file.options == {"thumbnail": {"width": 320}, "transcoded": {"width": 1920}}


def test_jsonl_seed_entries_map_flat_options_by_kind(tmp_path: Path) -> None:
    """Seed-style 'path' entries resolve against the JSONL's folder; flat options go by kind."""
    write(tmp_path / "media" / "001.mov")
    write(tmp_path / "media" / "song.mp3")
    lines = [
        {"path": "media/001.mov", "kind": "video", "options": {"width": 1920, "format": "mp4"}},
        {"path": "media/song.mp3", "kind": "audio", "options": {"format": "mp3"}},
    ]
    manifest = tmp_path / "seed.jsonl"
    manifest.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    files, errors = discover([str(manifest)])
    assert errors == []
    assert [file.uri for file in files] == [
        (tmp_path / "media" / "001.mov").resolve().as_uri(),
        (tmp_path / "media" / "song.mp3").resolve().as_uri(),
    ]
    assert [file.options for file in files] == [
        {"transcoded": {"width": 1920, "format": "mp4"}},
        {"audio": {"format": "mp3"}},
    ]
    assert files[0].size == 5 and files[0].fingerprint is not None


def test_jsonl_entries_keep_their_declared_kind(tmp_path: Path) -> None:
    """A JSONL entry's kind travels with its source (a hint for the ingest job's kind)."""
    write(tmp_path / "media" / "song.mp3")
    lines = [
        {"path": "media/song.mp3", "kind": "audio"},
        {"url": "https://cdn.example.com/stream?id=7", "kind": "audio"},
        {"url": "https://cdn.example.com/clip.mp4"},
    ]
    manifest = tmp_path / "library.jsonl"
    manifest.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    files, errors = discover([str(manifest)])
    assert errors == []
    assert [file.kind for file in files] == ["audio", "audio", None]


def test_jsonl_skips_blank_lines_and_comments(tmp_path: Path) -> None:
    """Blank lines and '#' comments are not entries and not errors."""
    manifest = tmp_path / "library.jsonl"
    manifest.write_text('# my library\n\n   \n{"url": "https://x.example/a.mp4"}\n')
    files, errors = discover([str(manifest)])
    assert len(files) == 1 and errors == []


def test_jsonl_bad_lines_are_reported_and_the_rest_kept(tmp_path: Path) -> None:
    """Each bad line becomes an error naming file:line and why; good lines survive."""
    manifest = tmp_path / "library.jsonl"
    manifest.write_text(
        "\n".join(
            [
                '{"url": "https://x.example/good1.mp4"}',
                "{not json",
                '["a", "list"]',
                '{"kind": "video"}',
                '{"url": "https://x.example/a.mp4", "kind": "document"}',
                '{"path": "missing.mov", "kind": "video"}',
                '{"url": "https://x.example/b.mp4", "options": {"width": 10}}',
                '{"path": "gs://bucket/c.mov", "kind": "video"}',
                '{"url": "https://x.example/good2.mp4"}',
            ]
        )
    )
    files, errors = discover([str(manifest)])
    assert [file.name for file in files] == ["good1.mp4", "good2.mp4"]
    label = str(manifest)
    assert [error.source for error in errors] == [f"{label}:{line}" for line in range(2, 9)]
    reasons = [error.reason for error in errors]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1] == "expected a JSON object"
    assert reasons[2] == "missing 'url' (or 'path')"
    assert reasons[3].startswith("unknown kind 'document'")
    assert reasons[4].startswith("no such file")
    assert 'add "kind"' in reasons[5]
    assert reasons[6].startswith("unsupported URL scheme gs://")


def test_jsonl_error_names_the_file_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative JSONL path appears as written in its errors."""
    monkeypatch.chdir(tmp_path)
    Path("library.jsonl").write_text("\n\n\n\n\n\n{oops\n")
    _, [error] = discover(["library.jsonl"])
    assert error.source == "library.jsonl:7"


def test_large_folder_is_discovered(tmp_path: Path) -> None:
    """A folder of 2,000 files yields 2,000 sources with distinct keys."""
    for folder in range(20):
        (tmp_path / f"d{folder:02}").mkdir()
        for index in range(100):
            (tmp_path / f"d{folder:02}" / f"clip_{index:03}.mp4").write_bytes(b"x" * index)
    files, errors = discover([str(tmp_path)])
    assert errors == []
    assert len(files) == 2000
    assert len({file.key for file in files}) == 2000


def test_version_prefers_fingerprint() -> None:
    """A source's version is its fingerprint, else size and mtime, else unknown."""
    base = SourceFile(key="k", uri="file:///k", name="k")
    assert base.version is None
    stat_only = SourceFile(key="k", uri="file:///k", name="k", size=3, mtime_ns=7)
    assert stat_only.version == "stat:3:7"
    full = SourceFile(key="k", uri="file:///k", name="k", size=3, mtime_ns=7, fingerprint="s256:ab")
    assert full.version == "s256:ab"
