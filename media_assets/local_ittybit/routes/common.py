"""Helpers every route module uses."""

from __future__ import annotations

import json
from typing import Any, cast

from starlette.requests import Request

from ..errors import invalid_input
from ..jobs import Json
from ..service import Service


def service_of(request: Request) -> Service:
    return cast(Service, request.app.state.service)


async def read_json_object(request: Request) -> Json:
    """The request body as a JSON object, or a 400 invalid_input saying what is wrong."""
    raw = await request.body()
    if not raw.strip():
        raise invalid_input("request body must be a JSON object")
    try:
        body: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_input(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise invalid_input("request body must be a JSON object")
    return body
