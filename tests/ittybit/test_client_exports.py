"""The package's public surface (after httpx's tests/test_exported_members.py)."""

from __future__ import annotations

import types

import media_assets.ittybit as ittybit


def _isort_style(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then CamelCase, then everything else."""
    if name.isupper():
        return (0, name)
    if name[0].isupper():
        return (1, name)
    return (2, name)


def test_all_equals_the_sorted_public_names() -> None:
    """``__all__`` lists every public name the package binds, sorted, and nothing else."""
    public = [
        name
        for name, value in vars(ittybit).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    ]
    assert ittybit.__all__ == sorted(public, key=_isort_style)


def test_every_exported_error_is_an_ittybit_error() -> None:
    """Each exported exception class derives from ``IttybitError``, so one except catches all."""
    errors = [
        value
        for name in ittybit.__all__
        if isinstance(value := getattr(ittybit, name), type) and issubclass(value, Exception)
    ]
    assert len(errors) >= 15
    assert all(issubclass(error, ittybit.IttybitError) for error in errors)
