"""The product's environment variables, named once for the test fixtures and the CLI helper.

The product reads its environment only through ``media_assets.settings.load_settings()``: every
``MEDIA_ASSETS_*`` variable, Ittybit's ``ITTYBIT_*`` and ``DAGSTER_HOME``. A test starts without
any of them, whatever the shell running the suite has exported.
"""

from __future__ import annotations

from collections.abc import Mapping

from media_assets.settings import DAGSTER_HOME_ENV, ENV_PREFIX

PRODUCT_PREFIXES: tuple[str, ...] = ("ITTYBIT_", ENV_PREFIX)
PRODUCT_NAMES: frozenset[str] = frozenset({DAGSTER_HOME_ENV})
HOME_ENV = f"{ENV_PREFIX}HOME"


def is_product_variable(name: str) -> bool:
    """Whether the product reads ``name`` (so a test must not inherit it)."""
    return name.startswith(PRODUCT_PREFIXES) or name in PRODUCT_NAMES


def without_product_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` without the product's variables."""
    return {name: value for name, value in environ.items() if not is_product_variable(name)}
