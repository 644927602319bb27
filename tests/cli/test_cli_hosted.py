"""The contract test for real users: `media-assets run` with a key, against the hosted profile.

The library is generated media served over a real loopback HTTP server; the service is
`media-assets serve-ittybit --compat hosted --api-key …` in a child process, which behaves as
Ittybit's hosted API documents and no more; `run` gets ITTYBIT_BASE_URL and ITTYBIT_API_KEY, as a
user's shell would give it. Every process the test starts is stopped on every exit path.
"""

import json
from pathlib import Path

import pytest
from cli_helpers import Cli, HostedService
from media_clips import make_clip, make_still, make_tone
from static_http import serve_folder, url_of

from media_assets.manifest.queries import read_results

pytestmark = pytest.mark.slow

API_KEY = "ittybit_test_key_for_the_hosted_contract"
FILES = ("clip.mp4", "portrait.mov", "tone.mp3", "still.png")
NOT_APPLICABLE = {
    "tone.mp3": {"thumbnail", "transcoded"},
    "still.png": {"audio", "transcoded"},
}


def test_run_with_a_key_against_the_hosted_profile_exits_0(tmp_path: Path) -> None:
    """Every stage of an http-served library succeeds (or does not apply) against it: exit 0."""
    media = tmp_path / "media"
    make_clip(media / "clip.mp4", size="320x240", seconds=1)
    make_clip(media / "portrait.mov", size="180x320", seconds=1)
    make_tone(media / "tone.mp3", seconds=1)
    make_still(media / "still.png", size="320x240")
    cli = Cli(tmp_path)
    with serve_folder(media) as media_url, HostedService(cli, tmp_path / "hosted", API_KEY) as api:
        library = tmp_path / "library.jsonl"
        lines = [{"url": url_of(media_url, name)} for name in FILES]
        library.write_text("".join(json.dumps(line) + "\n" for line in lines))
        cli.env.update(ITTYBIT_BASE_URL=api.base_url, ITTYBIT_API_KEY=API_KEY)
        done = cli.run("run", str(library))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    rows = read_results(cli.home / "manifest.duckdb")
    assert len(rows) == len(FILES) * 4
    for row in rows:
        name = row["source_uri"].rsplit("/", 1)[1]
        expected = "not_applicable" if row["stage"] in NOT_APPLICABLE.get(name, ()) else "succeeded"
        assert row["status"] == expected, (name, row["stage"], row["error_message"])
        if expected == "succeeded":
            assert row["job_id"].startswith("job_") and row["output_url"].startswith(api.base_url)
