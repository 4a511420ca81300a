"""HTTP routes of GIS integration: the completeness report and imports.

- ``GET /api/v1/twin/report`` — the completeness and quality report (JSON, see
  :mod:`hyperville.gis.report`). Query parameters: ``bbox=minLon,minLat,maxLon,maxLat`` (the
  territory when the twin has no ``AdministrativeArea``/``Territory`` entity),
  ``duplicateDistance`` (metres, default 3), ``limit`` (ids listed per section, default 100).
- ``POST /api/v1/imports`` — a JSON body ``{"mapping": "<the mapping YAML text>"}``. The files
  the mapping names are *server-side* paths relative to the import directory (setting
  ``import_dir`` when the settings have it, else the environment variable
  ``HYPERVILLE_IMPORT_DIR``, else ``imports/`` beside the twin's database); a path that leaves
  that directory is refused. Answers 200 with the import report when every layer was imported,
  422 with the same report when a layer failed (nothing of a failed layer is written), 400 when
  the mapping itself is wrong.

The tenant is the ``NGSILD-Tenant`` header, as for the NGSI-LD API.
"""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hyperville.api.caller import caller
from hyperville.core.errors import BadRequestData, InvalidRequest
from hyperville.gis.importer import Importer
from hyperville.gis.mapping import MappingError, parse_mapping
from hyperville.gis.readers import LayerError, Problem
from hyperville.gis.report import DUPLICATE_M, LIMIT, build_report

API = "/api/v1"


def _json(body: object, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
    )


def _bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    try:
        parts = [float(p) for p in raw.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or parts[0] >= parts[2] or parts[1] >= parts[3]:
        raise BadRequestData("bbox must be minLon,minLat,maxLon,maxLat with min < max")
    return parts[0], parts[1], parts[2], parts[3]


def _positive(raw: str | None, name: str, default: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise BadRequestData(f"{name} must be a positive number, not {raw!r}")
    return value


async def twin_report(request: Request) -> Response:
    who = caller(request)
    params = request.query_params
    unknown = sorted(set(params) - {"bbox", "duplicateDistance", "limit"})
    if unknown:
        raise InvalidRequest("unknown query parameter(s): " + ", ".join(map(repr, unknown)))
    bbox = _bbox(params.get("bbox"))
    distance = _positive(params.get("duplicateDistance"), "duplicateDistance", DUPLICATE_M)
    raw_limit = params.get("limit", str(LIMIT))
    if not raw_limit.isdigit() or int(raw_limit) < 1:
        raise BadRequestData(f"limit must be a positive integer, not {raw_limit!r}")
    limit = int(raw_limit)
    twin = request.app.state.twin
    ctx = request.app.state.contexts.core()

    def run() -> dict:
        report = build_report(
            twin, who.tenant, bbox=bbox, duplicate_m=distance, limit=limit, ctx=ctx
        )
        return report.to_dict()

    return _json(await anyio.to_thread.run_sync(run))


def import_dir(request: Request) -> Path:
    """The directory that import requests may read files from."""
    settings = request.app.state.settings
    configured = getattr(settings, "import_dir", None) or os.environ.get("HYPERVILLE_IMPORT_DIR")
    if configured:
        return Path(configured)
    return Path(settings.db_path).parent / "imports"


def _inside(root: Path):
    base = root.resolve()

    def check(path: Path) -> Path:
        resolved = path.resolve()
        if resolved != base and base not in resolved.parents:
            name = path.relative_to(root) if path.is_relative_to(root) else path
            problem = Problem("the file is outside the import directory")
            raise LayerError(str(name), path.stem, [problem])
        return resolved

    return check


async def create_import(request: Request) -> Response:
    who = caller(request)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("mapping"), str):
        raise BadRequestData('the body must be {"mapping": "<mapping YAML text>"}')
    extra = sorted(set(body) - {"mapping"})
    if extra:
        raise BadRequestData("unknown member(s): " + ", ".join(map(repr, extra)))
    try:
        mapping = parse_mapping(body["mapping"])
    except MappingError as exc:
        raise BadRequestData(str(exc)) from None
    root = import_dir(request)
    importer = Importer(
        request.app.state.twin,
        tenant=who.tenant,
        base_dir=root,
        contexts=request.app.state.contexts,
        path_check=_inside(root),
    )
    report = await importer.run(mapping)
    return _json(report.to_dict(), 200 if report.ok else 422)


def twin_report_routes() -> list[Route]:
    return [
        Route(f"{API}/twin/report", twin_report, methods=["GET"]),
        Route(f"{API}/imports", create_import, methods=["POST"]),
    ]
