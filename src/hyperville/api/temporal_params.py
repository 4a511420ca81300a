"""Query parameters of the NGSI-LD temporal API (CIM 009 6.18–6.24, 4.5.9, 4.5.19)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from hyperville.api.params import split_list
from hyperville.api.projection import CORE_MEMBERS, omitted, parse_projection, top_level
from hyperville.core.errors import BadRequestData, InvalidRequest
from hyperville.ngsild.context import Context
from hyperville.store.base import HistoryQuery
from hyperville.store.sqlite_history import iso_to_ms
from hyperville.twin_ops import SCOPE_IRI

TIMERELS = ("before", "after", "between")
TIMEPROPERTIES = ("observedAt", "createdAt", "modifiedAt", "deletedAt")
AGGR_METHODS = ("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq")
TEMPORAL_OPTIONS = frozenset(
    {"temporalValues", "aggregatedValues", "sysAttrs", "normalized", "simplified", "keyValues"}
)
_FORMATS = {
    "normalized": "normalized",
    "temporalValues": "temporalValues",
    "simplified": "temporalValues",
    "keyValues": "temporalValues",
    "aggregatedValues": "aggregatedValues",
}
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$")
_DURATION = re.compile(
    r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
# months and years have no fixed length: 30 and 365 days (documented approximation)
_UNIT_MS = (365 * 86_400_000, 30 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000)


@dataclass(frozen=True)
class TemporalOptions:
    history: HistoryQuery
    fmt: str = "normalized"  # normalized | temporalValues | aggregatedValues
    sys_attrs: bool = False
    methods: tuple[str, ...] = ()
    period_ms: int | None = None
    dataset_ids: frozenset[str] | None = None  # instances to show; "@none" = default ones
    pick: frozenset[str] | None = None  # members to keep: id, type, scope, attribute IRIs
    omit: frozenset[str] | None = None  # members to leave out

    def keeps(self, member: str) -> bool:
        """Does the answer show this member (``id``, ``type``, ``scope`` or an IRI)? The
        scope's history (under the core scope IRI) is the ``scope`` member."""
        if member == SCOPE_IRI:
            member = "scope"
        if self.pick is not None and member not in self.pick:
            return False
        return self.omit is None or member not in self.omit

    @property
    def reads_attributes(self) -> bool:
        """False when ``pick`` names only id and type: no history to read."""
        return self.pick is None or bool(self.pick - {"id", "type"})


def parse_time(value: str | None, name: str) -> int:
    if value is None or not value:
        raise BadRequestData(f"{name} is required with this timerel")
    if not _DATETIME.match(value):
        raise BadRequestData(f"{name} must be an ISO 8601 date-time, not {value!r}")
    try:
        return iso_to_ms(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequestData(f"{name} is not a valid date-time: {value!r}") from exc


def parse_duration(value: str) -> int:
    """An ISO 8601 duration (PT1H, P1D, P1W, P1M…) in milliseconds; 0 for PT0S."""
    match = _DURATION.match(value)
    if not match or value in ("P", "PT") or value.endswith("T"):
        raise BadRequestData(f"aggrPeriodDuration {value!r} is not an ISO 8601 duration")
    groups = match.groups()
    total = sum(int(g) * unit for g, unit in zip(groups[:6], _UNIT_MS, strict=True) if g)
    if groups[6]:
        total += round(float(groups[6]) * 1000)
    return total


def temporal_options(
    params: Mapping[str, str], ctx: Context, *, limit: int, body_attrs: list[str] | None = None
) -> TemporalOptions:
    """Validate the temporal parameters (precise 400 BadRequestData for each mistake)."""
    options = set(split_list(params.get("options") or None))
    unknown = options - TEMPORAL_OPTIONS
    if unknown:
        raise InvalidRequest(f"unknown option(s): {', '.join(sorted(unknown))}")
    fmt = params.get("format") or ""
    if fmt and fmt not in _FORMATS:
        raise InvalidRequest(f"unknown format {fmt!r}")
    if fmt:  # format wins over the representation options (CIM 009 6.3.7)
        fmt = _FORMATS[fmt]
    elif "aggregatedValues" in options:
        fmt = "aggregatedValues"
    elif options & {"temporalValues", "simplified", "keyValues"}:
        fmt = "temporalValues"
    else:
        fmt = "normalized"
    timerel = params.get("timerel") or None
    start = end = None
    if timerel is not None:
        if timerel not in TIMERELS:
            raise BadRequestData(f"timerel must be before, after or between, not {timerel!r}")
        start = parse_time(params.get("timeAt"), "timeAt")
        if timerel == "between":
            end = parse_time(params.get("endTimeAt"), "endTimeAt")
            if end <= start:
                raise BadRequestData("endTimeAt must be later than timeAt")
        elif params.get("endTimeAt"):
            raise BadRequestData("endTimeAt is only allowed with timerel=between")
    elif params.get("timeAt") or params.get("endTimeAt"):
        raise BadRequestData("timeAt and endTimeAt need a timerel")
    timeproperty = params.get("timeproperty") or "observedAt"
    if timeproperty not in TIMEPROPERTIES:
        raise BadRequestData(
            "timeproperty must be observedAt, createdAt, modifiedAt or deletedAt, "
            f"not {timeproperty!r}"
        )
    last_n = None
    if params.get("lastN"):
        raw = params["lastN"]
        if not raw.isdigit() or int(raw) < 1:
            raise BadRequestData(f"lastN must be a positive integer, not {raw!r}")
        last_n = int(raw)
    names = body_attrs if body_attrs is not None else split_list(params.get("attrs") or None)
    attrs = tuple(ctx.expand_term(a) for a in names)
    pick = _projection(params, "pick", ctx)
    omit = _projection(params, "omit", ctx)
    if pick is not None and omit is not None:
        raise BadRequestData("pick and omit cannot be used together")
    if names and (pick is not None or omit is not None):
        raise BadRequestData("attrs cannot be used together with pick or omit")
    if pick is not None:  # only the picked attributes (and the scope's history) are read
        attrs = tuple(sorted(pick - CORE_MEMBERS)) + ((SCOPE_IRI,) if "scope" in pick else ())
    methods: tuple[str, ...] = ()
    period = None
    if fmt == "aggregatedValues":
        methods = tuple(split_list(params.get("aggrMethods") or None))
        if not methods:
            raise BadRequestData("options=aggregatedValues needs aggrMethods")
        bad = [m for m in methods if m not in AGGR_METHODS]
        if bad:
            raise BadRequestData(
                f"unknown aggrMethods {', '.join(bad)}: use {', '.join(AGGR_METHODS)}"
            )
        period = parse_duration(params.get("aggrPeriodDuration") or "PT0S") or None
    elif "aggregatedValues" in options:
        pass  # format chose another representation: the aggregation parameters are moot
    elif params.get("aggrMethods") or params.get("aggrPeriodDuration"):
        raise BadRequestData("aggrMethods and aggrPeriodDuration need options=aggregatedValues")
    history = HistoryQuery(
        attrs=attrs,
        timerel=timerel,
        start_ms=start,
        end_ms=end,
        timeproperty=timeproperty,
        last_n=last_n,
        limit=limit,
        aggr_methods=frozenset(methods),
    )
    dataset_ids = None
    if params.get("datasetId"):
        dataset_ids = frozenset(split_list(params["datasetId"]))
    return TemporalOptions(
        history, fmt, "sysAttrs" in options, methods, period, dataset_ids, pick, omit
    )


def _projection(params: Mapping[str, str], name: str, ctx: Context) -> frozenset[str] | None:
    """The members ``pick``/``omit`` name: ``id``, ``type``, ``scope`` or attribute IRIs.
    Nested projections (``a{b}``) are about linked entities: the temporal API has none."""
    text = params.get(name)
    if text is None:
        return None
    tree = parse_projection(text, name, ctx.expand_term)
    return top_level(tree) if name == "pick" else omitted(tree)
