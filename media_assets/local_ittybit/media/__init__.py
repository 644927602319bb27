"""The media layer of the local Ittybit-compatible service: probe, validate options, encode.

Pure functions over local files; no HTTP, no job state, no Dagster. ``probe_file`` uses PyAV (with
the ffmpeg CLI as fallback), ``encode`` runs the ffmpeg binary from the imageio-ffmpeg wheel.
Every failure surfaces as ``MediaError(kind, message)`` with an Ittybit error kind.
"""

from .encode import build_command, encode, ffmpeg_exe, output_extension
from .errors import MediaError
from .options import validate_options
from .probe import probe_file

__all__ = [
    "MediaError",
    "build_command",
    "encode",
    "ffmpeg_exe",
    "output_extension",
    "probe_file",
    "validate_options",
]
