"""Every file of the shared corpus probed through the client (ffmpeg engine).

The corpus (real files made by others, see ``../shared/corpus/SOURCES.md``) sits beside the repo;
when it is absent the tests are skipped, saying where it was looked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ittybit_client_helpers import MakeClient, service_config

from media_assets.ittybit import File, TaskFailed
from media_assets.local_ittybit import RunningService
from media_assets.local_ittybit.server import running_in_thread
from media_assets.sources import file_uri

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"

# Files that are broken on purpose: probing them must fail with a reason naming the file.
BROKEN = frozenset(
    {
        "zero-length.mp3",
        "corrupt-ebml-header.mkv",
        "moov-not-found.mp4",
        "wrong-ext-json.webp",
        "truncated-aac-mp4v.mp4",
    }
)


def _corpus_files() -> list[object]:
    if not CORPUS.is_dir():
        reason = f"../shared/corpus not found: {CORPUS}"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-corpus")]
    files = sorted(p for p in CORPUS.iterdir() if p.is_file() and p.suffix.lower() != ".md")
    return [pytest.param(path, id=path.name) for path in files]


pytestmark = [pytest.mark.anyio, pytest.mark.corpus]


@pytest.fixture(scope="module")
def corpus_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """One ffmpeg service for the whole module, allowed to read the corpus."""
    data_dir = tmp_path_factory.mktemp("corpus-service")
    config = service_config(data_dir, engine="ffmpeg", workers=2, allow_roots=(CORPUS,))
    with running_in_thread(config) as running:
        yield running


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"../shared/corpus not found: {CORPUS}")
def test_broken_list_names_real_corpus_files() -> None:
    """Every file expected to be broken exists, so the expectations cannot go stale silently."""
    assert {name for name in BROKEN if (CORPUS / name).is_file()} == BROKEN


@pytest.mark.parametrize("path", _corpus_files())
async def test_probe_corpus_file(
    corpus_service: RunningService, make_client: MakeClient, path: Path
) -> None:
    """Broken files raise TaskFailed naming the file; all others probe to a File with a kind."""
    url = file_uri(path)
    client = make_client(corpus_service.base_url)
    if path.name in BROKEN:
        with pytest.raises(TaskFailed) as caught:
            await client.probe(url)
        assert path.name in caught.value.reason
        assert caught.value.kind
    else:
        probed = await client.probe(url)
        assert isinstance(probed, File)
        assert probed.kind in ("video", "audio", "image")
        assert probed.format
