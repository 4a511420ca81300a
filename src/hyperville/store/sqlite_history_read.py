"""Attribute history in SQLite, read side: instances of a temporal query and aggregates.

The rows are those :mod:`hyperville.store.sqlite_history` writes (its docstring describes
the ``attr_history`` and ``attr_hourly`` tables). :func:`aggregate` reads the hourly
summaries when the buckets are whole hours, the raw rows otherwise.
"""

from __future__ import annotations

import sqlite3

from hyperville.store.base import HistoryQuery
from hyperville.store.sqlite_history import HOUR_MS, IS_DELETION_SQL, LIVE_SQL, decode
from hyperville.store.sqlite_names import NameTable


def _time_where(query: HistoryQuery, column: str) -> tuple[str, list]:
    if query.timerel is None:
        return "", []
    if query.timerel == "before":
        return f" AND {column} < ?", [query.start_ms]
    if query.timerel == "after":
        return f" AND {column} > ?", [query.start_ms]
    return f" AND {column} >= ? AND {column} < ?", [query.start_ms, query.end_ms]


def _time_column(query: HistoryQuery) -> str:
    if query.timeproperty in ("observedAt", "deletedAt"):
        return "t"  # a deletion record has no observedAt: its t is when it was deleted
    return "(t + coalesce(m, 0) * 1000)"


def _kind_where(query: HistoryQuery) -> str:
    """Deletion records for timeproperty=deletedAt, the data points otherwise."""
    return f" AND {IS_DELETION_SQL}" if query.timeproperty == "deletedAt" else f" AND {LIVE_SQL}"


def attr_nids(conn: sqlite3.Connection, names: NameTable, pk: int, attrs: tuple[str, ...]):
    """``[(nid, iri)]`` of the attributes with history (all, or those asked for)."""
    if attrs:
        found = [(names.get(a, conn), a) for a in attrs]
        return [(n, a) for n, a in found if n is not None]
    found: set[int] = set()
    for table in ("attr_history", "attr_hourly"):  # a skip-scan: one seek per attribute
        last = -1
        while True:
            row = conn.execute(
                f"SELECT min(nid) FROM {table} WHERE pk=? AND nid>?", (pk, last)
            ).fetchone()
            if row[0] is None:
                break
            last = row[0]
            found.add(last)
    return [(n, names.get_name(n, conn)) for n in sorted(found)]


def instances(
    conn: sqlite3.Connection, names: NameTable, pk: int, query: HistoryQuery
) -> tuple[dict[str, list[dict]], dict[str, tuple[int, int]]]:
    """Instances per attribute IRI, oldest first; and the attributes cut by ``limit``.

    ``lastN`` keeps the newest N per attribute. More than ``query.limit`` instances of an
    attribute are cut to the first (or, with lastN, the last) ``limit``; the cut attributes
    map to the (first, last) times returned, for the 206 Content-Range.
    """
    column = _time_column(query)
    time_sql, time_params = _time_where(query, column)
    time_sql += _kind_where(query)
    out: dict[str, list[dict]] = {}
    cut: dict[str, tuple[int, int]] = {}
    for nid, iri in attr_nids(conn, names, pk, query.attrs):
        want = query.limit
        newest_first = query.last_n is not None
        if newest_first:
            want = min(want, query.last_n)  # type: ignore[type-var]
        order = "DESC" if newest_first else "ASC"
        rows = conn.execute(
            f"SELECT t, ds, num, doc, m FROM attr_history WHERE pk=? AND nid=?{time_sql} "
            f"ORDER BY {column} {order}, ds LIMIT ?",
            (pk, nid, *time_params, want + 1),
        ).fetchall()
        truncated = len(rows) > want and (query.last_n is None or query.last_n > query.limit)
        rows = rows[:want]
        if newest_first:
            rows.reverse()
        if not rows:
            continue
        if truncated:
            cut[iri] = (rows[0][0], rows[-1][0])
        out[iri] = [decode(r, pk, nid, conn, names) for r in rows]
    return out, cut


def aggregate(
    conn: sqlite3.Connection,
    names: NameTable,
    pk: int,
    query: HistoryQuery,
    period_ms: int | None,
) -> dict[str, dict[int, list[tuple]]]:
    """Buckets per attribute IRI and dataset id: ``(start, end, count, numeric count,
    distinct, sum, min, max, sumsq)``, oldest first, computed in SQL.

    Whole-hour periods on hour boundaries over numeric attributes read the hourly
    summaries (8,760 rows for a year: a few ms); anything else groups the raw rows by
    period, plus the summaries of the hours whose raw rows retention removed.
    """
    column = _time_column(query)
    time_sql, time_params = _time_where(query, column)
    time_sql += f" AND {LIVE_SQL}"
    out: dict[str, dict[int, list[tuple]]] = {}
    for nid, iri in attr_nids(conn, names, pk, query.attrs):
        bounds = _bounds(conn, pk, nid, query)
        if bounds is None:
            continue
        origin, end = bounds
        period = period_ms or max(end - origin, 1)
        bucket = f"? + ({column} - ?) / ? * ?"
        args = (origin, origin, period, period, pk, nid)
        hourly_sql = (
            "SELECT ds, ? + (hour - ?) / ? * ? AS s, sum(n), sum(coalesce(k, n)), NULL, "
            "sum(total), min(lo), max(hi), sum(sq) FROM attr_hourly WHERE pk=? AND nid=?{} "
            "GROUP BY ds, s"
        )
        if _hourly_ok(conn, pk, nid, query, origin, end, period):
            where, params = _time_where(query, "hour")
            rows = conn.execute(hourly_sql.format(where), (*args, *params)).fetchall()
        else:
            rows = conn.execute(
                f"SELECT ds, {bucket} AS s, count(*), count(num), {_columns(query.aggr_methods)} "
                f"FROM attr_history WHERE pk=? AND nid=?{time_sql} GROUP BY ds, s",
                (*args, *time_params),
            ).fetchall()
            first = conn.execute(
                "SELECT min(t) FROM attr_history WHERE pk=? AND nid=?", (pk, nid)
            ).fetchone()[0]
            where, params = _time_where(query, "hour")
            where += " AND hour + 3600000 <= ?"  # hours that only the summaries still hold
            old = conn.execute(
                hourly_sql.format(where), (*args, *params, first if first is not None else end)
            ).fetchall()
            if old:
                buckets = {(r[0], r[1]): list(r[2:]) for r in rows}
                for r in old:
                    _merge_bucket(buckets, (r[0], r[1]), list(r[2:]))
                rows = [(ds, s, *rest) for (ds, s), rest in sorted(buckets.items())]
        per_ds: dict[int, list[tuple]] = {}
        for ds, start, *rest in rows:  # ordered by ds then start (GROUP BY order)
            per_ds.setdefault(ds, []).append((start, start + period, *rest))
        out[iri] = per_ds
    return out


def _hourly_ok(conn, pk: int, nid: int, query: HistoryQuery, origin, end, period) -> bool:
    """Can the hourly summaries answer exactly? Whole hours, no distinctCount."""
    if period % HOUR_MS or origin % HOUR_MS or query.timeproperty != "observedAt":
        return False
    if "distinctCount" in query.aggr_methods or not query.aggr_methods:
        return False
    if query.timerel == "after" or (query.timerel and end % HOUR_MS):
        return False
    return not (query.timerel == "before" and query.start_ms % HOUR_MS)  # type: ignore[operator]


_SQL_AGGREGATES = (
    ("distinctCount", "count(DISTINCT coalesce(num, doc))"),
    ("sum", "sum(num)"),
    ("min", "min(num)"),
    ("max", "max(num)"),
    ("sumsq", "sum(num * num)"),
)
_NEEDS = {"avg": {"sum"}, "stddev": {"sum", "sumsq"}, "sumsq": {"sumsq"}}


def _columns(methods: frozenset[str]) -> str:
    """Only the aggregates asked for are computed (each costs a few ms a year)."""
    wanted = set(methods)
    for method in methods:
        wanted |= _NEEDS.get(method, set())
    return ", ".join(
        sql if not methods or name in wanted else "NULL" for name, sql in _SQL_AGGREGATES
    )


def _merge_bucket(buckets: dict, key: tuple, row: list) -> None:
    old = buckets.get(key)
    if old is None:
        buckets[key] = row
        return
    n, k, _distinct, total, lo, hi, sq = row
    old[0] += n
    old[1] += k
    old[3] = _add(old[3], total)
    old[4] = lo if old[4] is None else (old[4] if lo is None else min(old[4], lo))
    old[5] = hi if old[5] is None else (old[5] if hi is None else max(old[5], hi))
    old[6] = _add(old[6], sq)


def _add(a, b):
    return b if a is None else (a if b is None else a + b)


def _bounds(conn, pk: int, nid: int, query: HistoryQuery) -> tuple[int, int] | None:
    """The time range to cut into periods: the query's, else the data's."""

    def one(sql: str) -> int | None:  # a single min() or max() is one index seek
        return conn.execute(sql, (pk, nid)).fetchone()[0]

    lows = [
        one("SELECT min(t) FROM attr_history WHERE pk=? AND nid=?"),
        one("SELECT min(hour) FROM attr_hourly WHERE pk=? AND nid=?"),
    ]
    if all(x is None for x in lows):
        return None
    if query.timerel == "between":
        return query.start_ms, query.end_ms  # type: ignore[return-value]
    highs = [
        one("SELECT max(t) + 1 FROM attr_history WHERE pk=? AND nid=?"),
        one("SELECT max(hour) + 3600000 FROM attr_hourly WHERE pk=? AND nid=?"),
    ]
    lo = lows[0] if lows[0] is not None else lows[1]  # periods start at the first instance
    hi = max(x for x in highs if x is not None)
    if query.timerel == "after":
        first = conn.execute(
            "SELECT min(t) FROM attr_history WHERE pk=? AND nid=? AND t>?",
            (pk, nid, query.start_ms),
        ).fetchone()[0]
        return (first if first is not None else query.start_ms + 1), hi
    if query.timerel == "before":
        return lo, min(hi, query.start_ms)  # type: ignore[type-var]
    return lo, hi
