"""Query parameters of the NGSI-LD entity API, parsed and validated into typed objects."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from hyperville.api.projection import Projection, omitted, parse_projection, top_level
from hyperville.core.errors import BadRequestData, InvalidRequest
from hyperville.ngsild import qlang
from hyperville.ngsild.context import Context
from hyperville.ngsild.geoquery import parse_geoquery
from hyperville.ngsild.order_by import parse_order_by
from hyperville.store.base import EntityQuery

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
FORMATS = {
    "normalized": "normalized",
    "concise": "concise",
    "keyValues": "keyValues",
    "simplified": "keyValues",
}
KNOWN_OPTIONS = {*FORMATS, "sysAttrs", "noOverwrite", "replace", "update", "temporalValues"}
JOINS = ("flat", "inline", "@none")


@dataclass(frozen=True)
class RenderOptions:
    """How to represent entities in an answer."""

    fmt: str = "normalized"
    sys_attrs: bool = False
    attrs: frozenset[str] | None = None
    pick: frozenset[str] | None = None
    omit: frozenset[str] | None = None
    lang: str | None = None
    pick_tree: Projection | None = field(default=None, compare=False, hash=False)
    omit_tree: Projection | None = field(default=None, compare=False, hash=False)
    join: str | None = None  # "flat" or "inline" (linked entity retrieval, 4.5.23)
    join_level: int = 1
    contained_by: frozenset[str] = frozenset()
    dataset_ids: frozenset[str] | None = None  # instances to show; "@none" = the default one

    def codec_kwargs(self) -> dict:
        return {
            "fmt": self.fmt,
            "sys_attrs": self.sys_attrs,
            "attrs": self.attrs,
            "pick": self.pick,
            "omit": self.omit,
            "lang": self.lang,
        }


def is_uri(value: str) -> bool:
    return bool(_URI.match(value))


def require_uri(value: str, what: str = "entity id") -> str:
    if not isinstance(value, str) or not is_uri(value):
        raise BadRequestData(f"{what} {value!r} is not a valid URI")
    return value


def split_list(value: str | None) -> list[str]:
    if value is None:
        return []
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise BadRequestData(f"empty item in the list {value!r}")
    return items


def options_of(params: Mapping[str, str]) -> set[str]:
    options = set(split_list(params.get("options")))
    unknown = options - KNOWN_OPTIONS
    if unknown:
        raise InvalidRequest(f"unknown option(s): {', '.join(sorted(unknown))}")
    return options


def render_options(params: Mapping[str, str], ctx: Context) -> RenderOptions:
    options = options_of(params)
    formats = {FORMATS[o] for o in options if o in FORMATS}
    if "format" in params:
        if params["format"] not in FORMATS:
            raise InvalidRequest(f"unknown format {params['format']!r}")
        formats = {FORMATS[params["format"]]}
    if len(formats) > 1:
        raise BadRequestData("options ask for more than one representation: " + ", ".join(formats))
    fmt = formats.pop() if formats else "normalized"

    attrs = None
    if "attrs" in params:
        names = split_list(params["attrs"])
        if {"id", "type", "@id", "@type"} & set(names):
            raise BadRequestData("attrs names attributes; id and type are not attributes")
        attrs = frozenset(ctx.expand_term(name) for name in names)
    pick_tree = _projection(params, "pick", ctx)
    omit_tree = _projection(params, "omit", ctx)
    if pick_tree is not None and omit_tree is not None:
        raise BadRequestData("pick and omit cannot be used together")
    if attrs is not None and (pick_tree is not None or omit_tree is not None):
        raise BadRequestData("attrs cannot be used together with pick or omit")
    join = params.get("join") or None
    if join is not None and join not in JOINS:
        raise BadRequestData(f"join must be one of {', '.join(JOINS)}, not {join!r}")
    join_level = _int(params, "joinLevel", 1) if params.get("joinLevel") else 1
    contained_by = frozenset(require_uri(i) for i in split_list(params.get("containedBy") or None))
    return RenderOptions(
        fmt,
        "sysAttrs" in options,
        attrs,
        top_level(pick_tree),
        omitted(omit_tree),
        params.get("lang"),
        pick_tree=pick_tree,
        omit_tree=omit_tree,
        join=None if join == "@none" else join,
        join_level=join_level,
        contained_by=contained_by,
        dataset_ids=_dataset_ids(params),
    )


def _dataset_ids(params: Mapping[str, str]) -> frozenset[str] | None:
    if "datasetId" not in params:
        return None
    ids = split_list(params["datasetId"])
    return frozenset(i if i == "@none" else require_uri(i, "datasetId") for i in ids)


def _projection(params: Mapping[str, str], key: str, ctx: Context) -> Projection | None:
    if key not in params:
        return None
    return parse_projection(params[key], key, ctx.expand_term)


def _int(params: Mapping[str, str], key: str, default: int) -> int:
    raw = params.get(key)
    if raw is None:
        return default
    if not raw.isdigit():
        raise BadRequestData(f"{key} must be a non-negative integer, not {raw!r}")
    return int(raw)


def _bool(params: Mapping[str, str], key: str) -> bool:
    raw = params.get(key)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise BadRequestData(f"{key} must be true or false, not {raw!r}")
    return raw == "true"


def parse_type_expression(text: str, ctx: Context):
    """``type`` as a list (``A,B``) or an expression (``(A;B)|C``) of expanded type IRIs."""
    tokens = re.findall(r"[(),;|]|[^(),;|]+", text)
    position = 0

    def peek() -> str | None:
        return tokens[position].strip() if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1].strip()

    def leaf():
        token = peek()
        if token == "(":
            take()
            node = disjunction()
            if take_or_none() != ")":
                raise BadRequestData(f"unbalanced parentheses in type {text!r}")
            return node
        if token in (None, ")", ",", ";", "|") or not token:
            raise BadRequestData(f"a type name is missing in {text!r}")
        return qlang.Exists(qlang.AttrPath(ctx.expand_term(take()), (), ()))

    def take_or_none() -> str | None:
        return take() if peek() is not None else None

    def conjunction():
        terms = [leaf()]
        while peek() == ";":
            take()
            terms.append(leaf())
        return terms[0] if len(terms) == 1 else qlang.And(tuple(terms))

    def disjunction():
        terms = [conjunction()]
        while peek() in (",", "|"):
            take()
            terms.append(conjunction())
        return terms[0] if len(terms) == 1 else qlang.Or(tuple(terms))

    node = disjunction()
    if peek() is not None:
        raise BadRequestData(f"unexpected {peek()!r} in type {text!r}")
    return node


def entity_query(
    params: Mapping[str, str],
    ctx: Context,
    *,
    max_limit: int,
    default_limit: int,
    require_filter: bool = True,
) -> EntityQuery:
    """An :class:`EntityQuery` from GET /entities parameters (or the POST query body)."""
    types: tuple[str, ...] = ()
    type_expr = None
    if "type" in params:
        raw_type = params["type"]
        if not raw_type.strip():
            raise BadRequestData("type must not be empty")
        if any(c in raw_type for c in ";|()"):
            type_expr = parse_type_expression(raw_type, ctx)
        else:
            types = tuple(ctx.expand_term(t) for t in split_list(raw_type))
    ids = tuple(require_uri(i) for i in split_list(params.get("id")))
    id_pattern = params.get("idPattern")
    if id_pattern is not None:
        try:
            re.compile(id_pattern)
        except re.error as exc:
            raise BadRequestData(f"idPattern is not a valid regular expression: {exc}") from exc
    attrs_any = tuple(ctx.expand_term(a) for a in split_list(params.get("attrs")))
    q = None
    if "q" in params:
        q = qlang.resolve_names(qlang.parse_q(params["q"]), ctx.expand_term)
    geo = parse_geoquery(
        params.get("georel"),
        params.get("geometry"),
        params.get("coordinates"),
        params.get("geoproperty"),
    )
    if geo is not None:
        geo = _with_geoproperty(geo, ctx.expand_term(geo.geoproperty))
    scope_q = qlang.parse_scope_q(params["scopeQ"]) if "scopeQ" in params else None
    limit = _int(params, "limit", default_limit)
    count = _bool(params, "count")
    if limit > max_limit:
        raise BadRequestData(f"limit {limit} exceeds the maximum of {max_limit}")
    if limit == 0 and not count:
        raise BadRequestData("limit=0 is only allowed together with count=true")
    if require_filter and not (
        types or type_expr or ids or id_pattern or attrs_any or q or geo or scope_q
    ):
        raise BadRequestData(
            "a query needs at least one of type, id, idPattern, attrs, q, geo-query or scopeQ"
        )
    return EntityQuery(
        types=types,
        type_expr=type_expr,
        ids=ids,
        id_pattern=id_pattern,
        attrs_any=attrs_any,
        q=q,
        geo=geo,
        scope_q=scope_q,
        limit=limit,
        offset=_int(params, "offset", 0),
        count=count,
        order_by=parse_order_by(params["orderBy"], ctx.expand_term) if "orderBy" in params else (),
    )


def _with_geoproperty(geo, iri: str):
    from dataclasses import replace

    return replace(geo, geoproperty=iri)


def check_query_filter(params: Mapping[str, str], query: EntityQuery) -> None:
    """GET /entities needs a type, attrs, q, geo-query or scopeQ, unless ``local=true``
    (CIM 009 6.4.3.2); ids and idPattern only narrow such a query down."""
    if _bool(params, "local"):
        return
    if not (
        query.types or query.type_expr or query.attrs_any or query.q or query.geo or query.scope_q
    ):
        raise BadRequestData(
            "a query needs at least one of type, attrs, q, geo-query or scopeQ (or local=true)"
        )
