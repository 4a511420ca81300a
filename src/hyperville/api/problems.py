"""The one place where errors become HTTP responses: RFC 7807 ProblemDetails bodies."""

from __future__ import annotations

import logging

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from hyperville.core.errors import (
    HypervilleError,
    InternalError,
    InvalidRequest,
    ResourceNotFound,
    TooManyRequests,
    Unauthorized,
)

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/json"
"""NGSI-LD answers errors as application/json ProblemDetails (its test suite checks that)."""


def problem_response(error: HypervilleError) -> Response:
    headers = {}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after_s)
    elif isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return Response(
        orjson.dumps(error.to_problem()),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


async def handle_hyperville_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HypervilleError)
    return problem_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return problem_response(ResourceNotFound(f"no resource at {request.url.path}"))
    if exc.status_code == 405:
        error = InvalidRequest(f"method {request.method} not allowed on {request.url.path}")
        error.status = 405
        return problem_response(error)
    error = InvalidRequest(str(exc.detail))
    error.status = exc.status_code
    return problem_response(error)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(InternalError("unexpected server error; it has been logged"))


EXCEPTION_HANDLERS = {
    HypervilleError: handle_hyperville_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
