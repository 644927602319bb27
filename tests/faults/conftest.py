"""Fixtures of the fault scenarios: a scratch folder per scenario and the CLI rooted in it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """`media-assets` with its own home; scenarios point it at their faulty service."""
    return Cli(tmp_path)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    return tmp_path / "library"
