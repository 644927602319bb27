"""The local service stands alone: it imports nothing from the rest of ``media_assets``."""

from __future__ import annotations

import ast
from pathlib import Path

import media_assets.local_ittybit as local_ittybit

PACKAGE = Path(local_ittybit.__file__).parent


def _absolute_imports(source: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_service_imports_nothing_else_of_the_product() -> None:
    """No module of the service imports a ``media_assets`` module outside the service."""
    outside = {
        f"{source.relative_to(PACKAGE)}: {name}"
        for source in PACKAGE.rglob("*.py")
        for name in _absolute_imports(source)
        if name.split(".")[0] == "media_assets"
        and not name.startswith("media_assets.local_ittybit")
    }
    assert not outside
