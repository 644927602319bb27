"""``GET /files/{path}``: job outputs, served from the output folder only.

The requested path is resolved (symlinks and ``..`` included) and must still lie inside that
folder, so no request can read the database or anything else. Anything else is a 404.
"""

from __future__ import annotations

import mimetypes

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from ..errors import ApiError
from ..inputs import resolve_inside
from .common import service_of

# HLS types, which the platform's tables may lack or get wrong (.ts is also a source-code type).
_MEDIA_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}


async def get_file(request: Request) -> Response:
    service = service_of(request)
    relative = request.path_params["file_path"]
    path = resolve_inside(service.config.files_dir, relative)
    if path is not None:
        return FileResponse(path, media_type=_MEDIA_TYPES.get(path.suffix.lower()))
    if service.config.engine == "simulate":
        placeholder = _simulated_placeholder(request, relative)
        if placeholder is not None:
            return placeholder
    raise ApiError(404, "file_not_found", "no such file")


def _simulated_placeholder(request: Request, relative: str) -> Response | None:
    """Simulated jobs write nothing; their output URLs answer with a few placeholder bytes."""
    job_id = relative.split("/", 1)[0]
    job = service_of(request).repository.get(job_id) if job_id.startswith("job_") else None
    if job is None or job["status"] != "succeeded" or not job["output"]:
        return None
    if not str(job["output"]).endswith(request.url.path):
        return None
    media_type = mimetypes.guess_type(request.url.path)[0] or "application/octet-stream"
    body = f"simulated output of {job_id}\n".encode()
    return Response(body, media_type=media_type, headers={"X-Simulated": "true"})
