"""Reject query parameters that no NGSI-LD operation defines (CIM 009 6.3.7: InvalidRequest).

A typo such as ``tpye=Building`` would otherwise be silently ignored and return every
entity; the spec asks for a 400 InvalidRequest naming the parameter instead.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

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


class RejectUnknownParameters:
    """ASGI middleware: a 400 InvalidRequest for unknown parameters under ``prefix``."""

    def __init__(self, app: ASGIApp, prefix: str = "/ngsi-ld/v1/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            raw = scope.get("query_string", b"")
            if raw:
                names = {k for k, _ in parse_qsl(raw.decode("latin-1"), keep_blank_values=True)}
                unknown = sorted(names - NGSI_LD_PARAMETERS)
                if unknown:
                    error = InvalidRequest(
                        "unknown query parameter(s): " + ", ".join(repr(u) for u in unknown)
                    )
                    await problem_response(error)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
