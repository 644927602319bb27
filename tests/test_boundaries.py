"""The rooms of the package keep to their imports, so each can be read and changed on its own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import media_assets

PACKAGE = Path(media_assets.__file__).parent


def _modules(room: str) -> list[Path]:
    base = PACKAGE / room
    return sorted(base.rglob("*.py")) if base.is_dir() else [PACKAGE / f"{room}.py"]


def _absolute_imports(source: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _imports_outside(room: str, allowed: tuple[str, ...], forbidden_roots: set[str]) -> set[str]:
    return {
        f"{source.relative_to(PACKAGE)}: {name}"
        for source in _modules(room)
        for name in _absolute_imports(source)
        if name.split(".")[0] in forbidden_roots and not name.startswith(allowed)
    }


@pytest.mark.parametrize(
    ("room", "allowed"),
    [
        ("ittybit", ("media_assets.ittybit",)),
        ("local_ittybit", ("media_assets.local_ittybit",)),
        ("engine", ("media_assets.engine", "media_assets.ittybit", "media_assets.results")),
        ("results", ()),
        (
            "outputs",
            (
                "media_assets.outputs",
                "media_assets.engine.stages",
                "media_assets.local_ittybit.media",
                "media_assets.results",
            ),
        ),
        (
            "postgres",
            (
                "media_assets.postgres",
                "media_assets.processes",
                "media_assets.registry",
                "media_assets.sources",
                "media_assets.settings",
            ),
        ),
    ],
)
def test_dagster_free_rooms_import_neither_dagster_nor_later_rooms(
    room: str, allowed: tuple[str, ...]
) -> None:
    """The client, service, engine, outputs, vocabulary and postgres/ know nothing of Dagster."""
    assert not _imports_outside(room, allowed, {"dagster", "media_assets"})


def test_dagster_internals_are_used_in_one_folder_only() -> None:
    """Every ``dagster._`` import stands in media_assets/instance/."""
    private = {
        f"{source.relative_to(PACKAGE)}: {name}"
        for source in PACKAGE.rglob("*.py")
        if source.parent.name != "instance"
        for name in _absolute_imports(source)
        if name.startswith("dagster._")
    }
    assert not private


_ENV_WRITE = re.compile(
    r"os\.environ\[.*\] *=|os\.environ\.setdefault|os\.putenv|os\.environ\.update"
)
_ENV_READ = re.compile(r"os\.environ|os\.getenv")


def test_nothing_writes_the_environment() -> None:
    """Settings reach child processes through their environment, never by changing ours."""
    writes = [
        f"{source.relative_to(PACKAGE)}:{number}"
        for source in PACKAGE.rglob("*.py")
        for number, line in enumerate(source.read_text().splitlines(), 1)
        if _ENV_WRITE.search(line)
    ]
    assert not writes


def test_one_module_reads_the_products_environment() -> None:
    """Only settings.py reads the environment (the local service only hands it to its child)."""
    readers = {
        str(source.relative_to(PACKAGE))
        for source in PACKAGE.rglob("*.py")
        if _ENV_READ.search(source.read_text())
    }
    assert readers <= {"settings.py", "local_ittybit/server.py"}
