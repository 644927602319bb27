"""HTTP errors in Ittybit's shape: a status code and a ``{"kind", "message"}`` body."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse


class ApiError(Exception):
    """Raised by handlers; the app turns it into a JSON error response."""

    def __init__(
        self,
        status_code: int,
        kind: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.kind = kind
        self.message = message
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        return error_response(self.status_code, self.kind, self.message, self.headers)


def error_response(
    status_code: int, kind: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"kind": kind, "message": message}, status_code, headers=headers)


def invalid_input(message: str) -> ApiError:
    return ApiError(400, "invalid_input", message)
