"""Attribute history in SQLite: the table, row encoding, append, delete, downsample.

Reading (temporal queries, aggregates) is in :mod:`hyperville.store.sqlite_history_read`.

One row per attribute instance ever written, in a WITHOUT ROWID table keyed
``(pk, nid, t, ds)``: entity primary key, attribute name id (``names``), time in integer
milliseconds since the epoch (observedAt when the instance has one, else modifiedAt) and the
dataset id (0 for the default instance, else the ``names`` id of the datasetId URI).
Numeric values go to the REAL column ``num`` (integral ones are stored as small integers by
SQLite); anything else, and the extra members of an instance (unitCode, sub-attributes…),
is compact JSON in ``doc`` (NULL for a bare number; the id of the interned JSON in ``names``
for a number's lone ``unitCode``, which every reading of a sensor repeats). ``m`` is
modifiedAt − observedAt in whole seconds (NULL when the instance has no observedAt: then
``t`` *is* modifiedAt, to the ms).

Measured with ``dbstat``, index included (the table is its own index): **about 28 bytes per
raw numeric data point** of live readings (bench/ingest.py: 200 sensors, 3 values each, one
with a unit), 34 for readings written a year after they were observed (bench/temporal.py:
``m`` takes 4 bytes). Hourly summaries (``attr_hourly``) cost about 60 bytes per *hour*.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter

import orjson

from hyperville.store.sqlite_names import NameTable

HOUR_MS = 3_600_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS attr_history(
    pk INTEGER NOT NULL, nid INTEGER NOT NULL, t INTEGER NOT NULL, ds INTEGER NOT NULL,
    num REAL, doc BLOB, m INTEGER,
    PRIMARY KEY(pk, nid, t, ds)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attr_hourly(
    pk INTEGER NOT NULL, nid INTEGER NOT NULL, hour INTEGER NOT NULL, ds INTEGER NOT NULL,
    n INTEGER NOT NULL, k INTEGER, total REAL, lo REAL, hi REAL, sq REAL,
    PRIMARY KEY(pk, nid, hour, ds)
) WITHOUT ROWID;
"""
_DROPPED = frozenset({"createdAt", "modifiedAt", "observedAt", "datasetId", "instanceId"})
# A deletion record (twin_history.deletion_instance) is a row whose doc starts with its
# deletedAt member: only timeproperty=deletedAt reads them; counts and aggregates skip them.
DELETED_PREFIX = b'{"deletedAt"'
IS_DELETION_SQL = "substr(doc, 1, 12) = X'" + DELETED_PREFIX.hex() + "'"
LIVE_SQL = f"(doc IS NULL OR NOT {IS_DELETION_SQL})"
INSTANCE_PREFIX = "urn:ngsi-ld:attribute:instance:"


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


@lru_cache(maxsize=4096)
def iso_to_ms(value: str) -> int:
    """NGSI-LD DateTime → integer milliseconds since the epoch (naive times are UTC).

    Cached: one write stamps every instance with the same modifiedAt, and sensors report on
    the same ticks."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return math.floor(parsed.timestamp() * 1000 + 0.5)


def ms_to_iso(ms: int) -> str:
    """Milliseconds → NGSI-LD DateTime; whole seconds without a fraction (…T12:03:00Z)."""
    text = datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return (text[:-7] if ms % 1000 == 0 else text[:-3]) + "Z"


def _canonical(text: str, ms: int) -> bool:
    """Is ``text`` (which parses to ``ms``) spelled as :func:`ms_to_iso` spells ``ms``?

    Checked on the separators, without formatting: ``YYYY-MM-DDTHH:MM:SSZ`` for whole
    seconds, ``YYYY-MM-DDTHH:MM:SS.fffZ`` otherwise."""
    size = len(text)
    if size == 20:
        if ms % 1000:
            return False
    elif size != 24 or text[19] != "." or not ms % 1000:
        return False
    return (
        text[-1] == "Z"
        and text[4] == "-"
        and text[7] == "-"
        and text[10] == "T"
        and text[13] == ":"
        and text[16] == ":"
    )


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def encode(instance: dict) -> tuple[int, int | None, float | None, bytes | None]:
    """``(t, m, num, doc)`` of an expanded instance (which has modifiedAt)."""
    modified = iso_to_ms(instance["modifiedAt"])
    observed = instance.get("observedAt")
    usual = True  # observedAt spelled as ms_to_iso spells it: the row's t says it all
    if observed is not None:
        t = iso_to_ms(observed)
        m: int | None = (modified - t) // 1000
        usual = _canonical(observed, t) or ms_to_iso(t) == observed
    else:
        t, m = modified, None
    value = instance.get("value")
    if usual and value.__class__ in _NUMBERS and instance.get("type") == "Property":
        # the shape of nearly every reading: a number, perhaps a unit, nothing else to keep
        kept = ("createdAt" in instance) + ("modifiedAt" in instance) + ("observedAt" in instance)
        kept += ("datasetId" in instance) + ("instanceId" in instance)  # in the row's key
        extra = len(instance) - 2 - kept  # besides type and value
        if not extra:
            return t, m, value, None
        unit = instance.get("unitCode")
        if extra == 1 and unit.__class__ is str:
            return t, m, value, _unit_doc(unit)
    rest = {k: v for k, v in instance.items() if k not in _DROPPED}
    if not usual:
        rest["observedAt"] = observed  # an unusual spelling (offset, µs…) is kept as given
    num = None
    if rest.get("type") == "Property" and is_number(value):
        num = value
        del rest["value"]
        if len(rest) == 1:  # only the type: a bare number
            return t, m, num, None
    return t, m, num, orjson.dumps(rest)


_NUMBERS = frozenset((int, float))  # by class: True is an int, not a number here


@lru_cache(maxsize=256)
def _unit_doc(unit: str) -> bytes:
    """The doc of a number with a unit: what :func:`encode` makes of ``{type, unitCode}``."""
    return orjson.dumps({"type": "Property", "unitCode": unit})


def instance_id(pk: int, nid: int, t: int, ds: int) -> str:
    return f"{INSTANCE_PREFIX}{pk}:{nid}:{t}:{ds}"


def parse_instance_id(value: str) -> tuple[int, int, int, int] | None:
    if not value.startswith(INSTANCE_PREFIX):
        return None
    parts = value[len(INSTANCE_PREFIX) :].split(":")
    if len(parts) != 4 or not all(p.lstrip("-").isdigit() for p in parts):
        return None
    pk, nid, t, ds = (int(p) for p in parts)
    return pk, nid, t, ds


def decode(row: tuple, pk: int, nid: int, conn: sqlite3.Connection, names: NameTable) -> dict:
    """An expanded instance (with instanceId and system members) from a history row."""
    t, ds, num, doc, m = row
    if doc is None:
        inst = {"type": "Property"}
    elif isinstance(doc, int):  # an interned doc (see compact_doc)
        inst = orjson.loads(names.get_name(doc, conn))
    else:
        inst = orjson.loads(doc)
    if num is not None:
        inst["value"] = int(num) if num.is_integer() and abs(num) < 2**53 else num
    if m is not None:
        inst.setdefault("observedAt", ms_to_iso(t))
        modified = ms_to_iso(t + m * 1000)
    else:
        modified = ms_to_iso(t)
    if ds:
        inst["datasetId"] = names.get_name(ds, conn)
    inst["instanceId"] = instance_id(pk, nid, t, ds)
    inst["createdAt"] = modified  # each historical instance was created when it was written
    inst["modifiedAt"] = modified
    return inst


def dataset_nid(conn: sqlite3.Connection, names: NameTable, dataset_id: str | None) -> int:
    return 0 if dataset_id is None else names.intern(conn, dataset_id)


_UNIT_DOC = b'{"type":"Property","unitCode":'


def compact_doc(conn: sqlite3.Connection, names: NameTable, doc: bytes | None):
    """A doc as stored: the few that repeat on every reading of a sensor — a number's
    ``{"unitCode": …}`` — are interned in ``names`` (JSON text, which never reads as an IRI)
    and stored as their small integer id; the others as they are."""
    if doc is not None and doc.startswith(_UNIT_DOC) and len(doc) <= 64 and doc.count(b",") == 1:
        return names.intern(conn, doc.decode())
    return doc


def rows_of(
    conn: sqlite3.Connection, names: NameTable, pk: int, attr_iri: str, instances: Iterable[dict]
) -> list[tuple]:
    """The ``attr_history`` rows of instances (expanded, with modifiedAt), to :func:`write`."""
    nid = names.intern(conn, attr_iri)
    rows = []
    for inst in instances:
        t, m, num, doc = encode(inst)
        if doc is not None and num is not None:
            doc = compact_doc(conn, names, doc)
        dataset = inst.get("datasetId")
        ds = 0 if dataset is None else names.intern(conn, dataset)
        rows.append((pk, nid, t, ds, num, doc, m))
    return rows


_KEY = itemgetter(0, 1, 2, 3)
_INSERT = "INSERT OR IGNORE INTO attr_history(pk, nid, t, ds, num, doc, m) VALUES(?,?,?,?,?,?,?)"
_PROBE = (  # the stored rows among a JSON array of keys: one index seek each
    "SELECT j.key, h.num, h.doc, h.m FROM json_each(?) AS j JOIN attr_history AS h "
    "ON h.pk = j.value->>0 AND h.nid = j.value->>1 AND h.t = j.value->>2 AND h.ds = j.value->>3"
)


def _hour_key(row: tuple) -> tuple[int, int, int, int]:
    return row[0], row[1], row[2] - row[2] % HOUR_MS, row[3]


def write(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Insert history rows (from :func:`rows_of`, any number of entities and attributes) and
    keep their hourly summaries up to date, in a few statements.

    A row with the key (pk, nid, t, ds) of a stored one replaces it (the latest write wins;
    its hour is recounted when the value changed) and changes nothing when it is identical:
    a redelivery never duplicates a data point. Rows are written in key order (B-tree inserts
    in order are cheaper); of rows with the same key, the last one given wins."""
    if not rows:
        return
    rows.sort(key=_KEY)  # stable: rows with the same key keep their order
    conn.execute("SAVEPOINT history")
    inserted = conn.executemany(_INSERT, rows).rowcount
    if inserted == len(rows):  # the common case: all new
        conn.execute("RELEASE history")
        _add_hours(conn, rows)
        return
    # Some keys were stored already, or given twice: the insert left those rows out. The rows
    # now equal to the stored ones went in, and the others are changes, unless a row was
    # stored identical before: then which rows are new is unknown, and we start again.
    stored = _stored_rows(conn, rows)
    changed = [(row, old) for row, old in zip(rows, stored, strict=True) if old != row[4:]]
    if len(rows) - inserted == len(changed):
        conn.execute("RELEASE history")
        new = [row for row, old in zip(rows, stored, strict=True) if old == row[4:]]
    else:
        conn.execute("ROLLBACK TO history")
        conn.execute("RELEASE history")
        rows = _last_of_each_key(rows)
        stored = _stored_rows(conn, rows)
        new = [row for row, old in zip(rows, stored, strict=True) if old is None]
        changed = [
            (row, old)
            for row, old in zip(rows, stored, strict=True)
            if old is not None and old != row[4:]
        ]
        conn.executemany(_INSERT, new)
    _replace(conn, new, changed)


def _stored_rows(conn: sqlite3.Connection, rows: list[tuple]) -> list[tuple | None]:
    """``(num, doc, m)`` stored under the key of each row (None: no such row)."""
    found: list[tuple | None] = [None] * len(rows)
    for index, num, doc, m in conn.execute(_PROBE, (orjson.dumps([r[:4] for r in rows]),)):
        found[index] = (num, doc, m)
    return found


def _replace(conn: sqlite3.Connection, new: list[tuple], changed: list[tuple]) -> None:
    """Write ``changed`` rows over the stored ones (``(row, stored (num, doc, m))``), then
    the hourly summaries of those and of the ``new`` rows (inserted already)."""
    if changed:
        conn.executemany(
            "UPDATE attr_history SET num=?, doc=?, m=? WHERE pk=? AND nid=? AND t=? AND ds=?",
            [(*row[4:], *row[:4]) for row, _old in changed],
        )
    # the hourly summaries count values only: a new doc or modifiedAt changes none of them
    recount = {_hour_key(row) for row, old in changed if _counted_differently(old, row)}
    _add_hours(conn, [r for r in new if _hour_key(r) not in recount] if recount else new)
    for key in sorted(recount):
        recount_hour(conn, key)


def _counted_differently(old: tuple, row: tuple) -> bool:
    """Does replacing the stored ``(num, doc, m)`` by ``row`` change its hour's summary?"""
    return old[0] != row[4] or _is_deletion(old[1]) != _is_deletion(row[5])


def _is_deletion(doc: object) -> bool:
    return doc.__class__ is bytes and doc.startswith(DELETED_PREFIX)  # type: ignore[union-attr]


def _last_of_each_key(rows: list[tuple]) -> list[tuple]:
    """Sorted rows, of those with the same key only the last."""
    last: list[tuple] = []
    for row in rows:
        if last and last[-1][:4] == row[:4]:
            last[-1] = row
        else:
            last.append(row)
    return last


def _add_hours(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Add new rows (sorted by key) to their hourly summaries."""
    if not rows:
        return
    hours: dict[tuple, list] = {}
    for pk, nid, t, ds, v, doc, _m in rows:
        if doc.__class__ is bytes and doc.startswith(DELETED_PREFIX):
            continue  # a deletion record is no data point (see _is_deletion)
        key = (pk, nid, t - t % HOUR_MS, ds)
        acc = hours.get(key)
        if acc is None:
            if v is None:
                hours[key] = [1, 0, None, None, None, None]
            else:
                hours[key] = [1, 1, v, v, v, v * v]
            continue
        acc[0] += 1
        if v is not None:
            if acc[1]:
                acc[2] += v
                if v < acc[3]:
                    acc[3] = v
                if v > acc[4]:
                    acc[4] = v
                acc[5] += v * v
            else:
                acc[2], acc[3], acc[4], acc[5] = v, v, v, v * v
            acc[1] += 1
    if not hours:
        return
    for acc in hours.values():
        acc[1] = None if acc[1] == acc[0] else acc[1]  # k: NULL (0 bytes) when all numeric
    conn.executemany(
        "INSERT INTO attr_hourly(pk, nid, hour, ds, n, k, total, lo, hi, sq) "
        "VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(pk, nid, hour, ds) DO UPDATE SET "
        "n = n + excluded.n, "
        "k = nullif(coalesce(k, n) + coalesce(excluded.k, excluded.n), n + excluded.n), "
        "total = coalesce(total + excluded.total, total, excluded.total), "
        "lo = coalesce(min(lo, excluded.lo), lo, excluded.lo), "
        "hi = coalesce(max(hi, excluded.hi), hi, excluded.hi), "
        "sq = coalesce(sq + excluded.sq, sq, excluded.sq)",
        [(*key, *acc) for key, acc in hours.items()],
    )


def recount_hour(conn: sqlite3.Connection, key: tuple[int, int, int, int]) -> None:
    """Recompute one hourly summary from its raw rows (after an edit or a redelivery)."""
    pk, nid, hour, ds = key
    conn.execute("DELETE FROM attr_hourly WHERE pk=? AND nid=? AND hour=? AND ds=?", key)
    conn.execute(
        "INSERT INTO attr_hourly(pk, nid, hour, ds, n, k, total, lo, hi, sq) "
        "SELECT ?, ?, ?, ?, count(*), nullif(count(num), count(*)), sum(num), min(num), "
        "max(num), sum(num * num) "
        f"FROM attr_history WHERE pk=? AND nid=? AND t>=? AND t<? AND ds=? AND {LIVE_SQL} "
        "HAVING count(*) > 0",
        (*key, pk, nid, hour, hour + HOUR_MS, ds),
    )


def delete(
    conn: sqlite3.Connection,
    pk: int,
    nid: int | None = None,
    ds: int | None = None,
    t: int | None = None,
) -> int:
    """Delete history rows of an entity (optionally one attribute, dataset, instance)."""
    where, params = ["pk=?"], [pk]
    for column, value in (("nid", nid), ("ds", ds), ("t", t)):
        if value is not None:
            where.append(f"{column}=?")
            params.append(value)
    sql_where = " AND ".join(where)
    count = conn.execute(f"DELETE FROM attr_history WHERE {sql_where}", params).rowcount
    if t is None:
        conn.execute(f"DELETE FROM attr_hourly WHERE {sql_where}", params)
    elif count:
        recount_hour(conn, (pk, nid, t - t % HOUR_MS, ds))  # type: ignore[arg-type]
    return count


def replace_instance(
    conn: sqlite3.Connection, names: NameTable, key: tuple[int, int, int, int], inst: dict
) -> bool:
    """Overwrite the value and members of one stored instance (its key stays)."""
    _t, _m, num, doc = encode(inst)
    if doc is not None and num is not None:
        doc = compact_doc(conn, names, doc)
    cur = conn.execute(
        "UPDATE attr_history SET num=?, doc=? WHERE pk=? AND nid=? AND t=? AND ds=?",
        (num, doc, *key),
    )
    if cur.rowcount:
        recount_hour(conn, (key[0], key[1], key[2] - key[2] % HOUR_MS, key[3]))
    return cur.rowcount > 0


def get_instance(conn: sqlite3.Connection, key: tuple[int, int, int, int]) -> tuple | None:
    return conn.execute(
        "SELECT t, ds, num, doc, m FROM attr_history WHERE pk=? AND nid=? AND t=? AND ds=?",
        key,
    ).fetchone()


def downsample(conn: sqlite3.Connection, before_ms: int) -> int:
    """Retention: delete raw rows older than the hour that holds ``before_ms``. Their hourly
    summaries (count, sum, min, max, sum of squares per entity, attribute, dataset and hour,
    kept up to date by :func:`write`) stay. Returns the raw rows removed."""
    cutoff = before_ms - before_ms % HOUR_MS
    return conn.execute("DELETE FROM attr_history WHERE t < ?", (cutoff,)).rowcount
