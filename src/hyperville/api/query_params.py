"""Request parameters: unknown ones rejected, the others parsed once per request.

A typo such as ``tpye=Building`` would otherwise be silently ignored and return every
entity; CIM 009 6.3.7 asks for a 400 InvalidRequest naming the parameter instead.
:class:`RejectUnknownParameters` checks the names and keeps the parsed parameters in the
ASGI scope, where :func:`query_params` finds them (a plain dict: cheap lookups of the many
parameters a request does not have).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from hyperville.api.problems import problem_response
from hyperville.core.errors import InvalidRequest

NGSI_LD_PARAMETERS = frozenset(
    {
        # entities, queries and projections
        "type",
        "id",
        "idPattern",
        "attrs",
        "pick",
        "omit",
        "q",
        "scopeQ",
        "csf",
        "georel",
        "geometry",
        "coordinates",
        "geoproperty",
        "geometryProperty",
        "limit",
        "offset",
        "count",
        "orderBy",
        "options",
        "format",
        "lang",
        "local",
        "via",
        "join",
        "joinLevel",
        "containedBy",
        "entityMap",
        "datasetId",
        "deleteAll",
        "keep",
        "drop",
        "details",
        "observedAt",
        "expandValues",
        "collect",
        # temporal
        "timerel",
        "timeAt",
        "endTimeAt",
        "timeproperty",
        "lastN",
        "aggrMethods",
        "aggrPeriodDuration",
    }
)


PARSED_KEY = "hyperville.query_params"


def _parse(scope: Scope) -> dict[str, str]:
    """Like Starlette's ``request.query_params``: the last value of a repeated name wins."""
    raw = scope.get("query_string", b"")
    parsed = dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)) if raw else {}
    scope[PARSED_KEY] = parsed
    return parsed


def query_params(request: Request) -> dict[str, str]:
    """The query parameters of a request (parsed once; do not modify the dict)."""
    parsed = request.scope.get(PARSED_KEY)
    return parsed if parsed is not None else _parse(request.scope)


def header(request: Request, name: bytes) -> str | None:
    """The first value of a header (``name`` in lower case, as ASGI servers give them)."""
    for key, value in request.scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


class RejectUnknownParameters:
    """ASGI middleware: a 400 InvalidRequest for unknown parameters under ``prefix``."""

    def __init__(self, app: ASGIApp, prefix: str = "/ngsi-ld/v1/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("query_string")
            and scope["path"].startswith(self.prefix)
        ):
            unknown = sorted(_parse(scope).keys() - NGSI_LD_PARAMETERS)
            if unknown:
                error = InvalidRequest(
                    "unknown query parameter(s): " + ", ".join(repr(u) for u in unknown)
                )
                await problem_response(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)
