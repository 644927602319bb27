"""Folders the service may read ``file://`` inputs from: those it started with, plus added ones.

A service already running (``media-assets dev`` keeps one) may be asked to read a library in
another folder. Rather than fail every file of that library, a client on this machine can add
the folder with ``POST /_local/roots``; added folders are kept in the data dir so a restarted
service still reads them.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path


class AddedRoots:
    """Folders added at run time, stored in ``path`` (one JSON list)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._roots: tuple[Path, ...] = ()
        self._path: Path | None = None

    def load(self, path: Path) -> None:
        """Read the folders added before (if any); later additions are written to ``path``."""
        with self._lock:
            self._path = path
            try:
                stored = json.loads(path.read_text())
            except (OSError, ValueError):
                stored = []
            self._roots = tuple(Path(item) for item in stored if isinstance(item, str))

    def add(self, root: Path) -> bool:
        """Add ``root``; False when it was already there."""
        with self._lock:
            if root in self._roots:
                return False
            self._roots = (*self._roots, root)
            if self._path is not None:
                staged = self._path.with_name(self._path.name + ".tmp")
                staged.write_text(json.dumps([str(item) for item in self._roots]))
                staged.replace(self._path)
            return True

    @property
    def roots(self) -> tuple[Path, ...]:
        return self._roots
