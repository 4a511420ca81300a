"""One place that resolves who is calling: the tenant and the principal of every request.

Routers never read tenant or credential headers themselves; they call :func:`caller`. When
authentication and roles arrive, they are enforced here without touching the routers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request

from hyperville.api.query_params import header
from hyperville.core.errors import BadRequestData, NonexistentTenant
from hyperville.store.base import DEFAULT_TENANT

TENANT_HEADER = b"ngsild-tenant"
_TENANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,127}$")


@dataclass(frozen=True)
class Caller:
    tenant: str
    principal: str = "anonymous"


def caller(request: Request) -> Caller:
    """The tenant (``NGSILD-Tenant`` header, default tenant otherwise) and principal."""
    tenant = header(request, TENANT_HEADER)
    if tenant is None or tenant == "":
        return Caller(DEFAULT_TENANT)
    if not _TENANT_NAME.match(tenant):
        raise BadRequestData(f"invalid NGSILD-Tenant header value: {tenant!r}")
    return Caller(tenant)


def reading_caller(request: Request) -> Caller:
    """Like :func:`caller`, but a named tenant must exist (reads never create one)."""
    who = caller(request)
    twin = request.app.state.twin
    if who.tenant != DEFAULT_TENANT and not twin.tenant_exists(who.tenant):
        raise NonexistentTenant(f"tenant {who.tenant} does not exist")
    return who
