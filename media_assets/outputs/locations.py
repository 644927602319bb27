"""Outputs the local service wrote into a folder on this machine, and the URLs that reach them.

A job's ``output`` is the URL the service served it at (``<service>/files/<path>``); that URL dies
with the service, which may run on another port next time. The same file in the output folder
has a ``file://`` URL that resolves after every process has exited: that is the one recorded.
Browsers refuse ``file://`` images inside an ``http://`` page, so a preview uses the service's URL
for the same path, which answers whenever a local service with that folder runs at that address
(``media-assets dev`` keeps one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit


@dataclass(frozen=True)
class LocalOutputs:
    """The output folder of the local service at ``service_url``."""

    folder: Path
    service_url: str

    def path_of(self, url: str) -> Path | None:
        """The file in the folder behind ``url`` (served or ``file://``), if it is there."""
        parts = urlsplit(url)
        if parts.scheme == "file":
            candidate = Path(unquote(parts.path))
        else:
            prefix = f"{self.service_url.rstrip('/')}/files/"
            if not url.startswith(prefix):
                return None
            candidate = self.folder / unquote(urlsplit(url[len(prefix) :]).path)
        folder = self.folder.resolve()
        resolved = candidate.resolve()
        if not resolved.is_relative_to(folder) or not resolved.is_file():
            return None
        return resolved

    def lasting_url(self, url: str) -> str:
        """A URL of the same output that resolves after the service has stopped."""
        path = self.path_of(url)
        return path.as_uri() if path is not None else url

    def preview_url(self, url: str) -> str:
        """A URL a browser page can show: the service's, for a file in the folder."""
        path = self.path_of(url)
        if path is None:
            return url
        relative = path.relative_to(self.folder.resolve()).as_posix()
        return f"{self.service_url.rstrip('/')}/files/{quote(relative)}"

    def relative(self, path: str | Path) -> str:
        """``path`` relative to the folder when it lies inside, else as given."""
        resolved = Path(path).resolve()
        folder = self.folder.resolve()
        return (
            resolved.relative_to(folder).as_posix()
            if resolved.is_relative_to(folder)
            else str(path)
        )
