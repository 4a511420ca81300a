"""One endpoint per path whose handler is chosen by the HTTP method.

The routes in :mod:`hyperville.api.app` list the methods a path accepts (others answer 405
before an endpoint runs), so every method reaching an endpoint made here has a handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Awaitable[Response]]


def by_method(**handlers: Handler) -> Handler:
    """``by_method(GET=retrieve, PATCH=update, DELETE=delete)``: an endpoint for all three."""

    async def endpoint(request: Request) -> Response:
        return await handlers[request.method](request)

    endpoint.__name__ = "_or_".join(h.__name__ for h in handlers.values())
    return endpoint
