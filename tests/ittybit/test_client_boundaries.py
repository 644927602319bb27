"""The client stands alone: it knows nothing of Dagster or of the rest of ``media_assets``."""

from __future__ import annotations

import ast
from pathlib import Path

import media_assets.ittybit as ittybit

PACKAGE = Path(ittybit.__file__).parent


def _absolute_imports(source: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_client_imports_neither_dagster_nor_the_rest_of_the_product() -> None:
    """No module of the client imports Dagster or a ``media_assets`` module outside the client."""
    outside = {
        f"{source.name}: {name}"
        for source in PACKAGE.glob("*.py")
        for name in _absolute_imports(source)
        if name.split(".")[0] in ("dagster", "media_assets")
        and not name.startswith("media_assets.ittybit")
    }
    assert not outside
