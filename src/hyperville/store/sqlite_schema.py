"""The SQLite schema of the twin, and the connection settings every connection gets."""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache

from hyperville.store.indexing import INDEX_LAYOUT, SUB, UNINDEXED_MEMBERS

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tenants(
    tid INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
-- IRIs of types, attributes and index keys, interned: rows below hold small integers.
CREATE TABLE IF NOT EXISTS names(nid INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS entities(
    pk INTEGER PRIMARY KEY,
    tid INTEGER NOT NULL,
    eid TEXT NOT NULL,
    doc BLOB NOT NULL,            -- the expanded entity, JSON (orjson)
    UNIQUE(tid, eid)
);
CREATE TABLE IF NOT EXISTS entity_types(
    tid INTEGER NOT NULL, nid INTEGER NOT NULL, pk INTEGER NOT NULL,
    PRIMARY KEY(tid, nid, pk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entity_types_pk ON entity_types(pk, nid);
-- one row per attribute present on an entity; kinds = bit mask of attribute types
CREATE TABLE IF NOT EXISTS entity_attrs(
    nid INTEGER NOT NULL, pk INTEGER NOT NULL, tid INTEGER NOT NULL, kinds INTEGER NOT NULL,
    PRIMARY KEY(nid, pk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entity_attrs_pk ON entity_attrs(pk);
-- one row per distinct indexed scalar: v is dynamically typed (numbers < text < blobs for
-- booleans). Keyed by entity first (per-entity EXISTS checks, index diffs on update), with a
-- second index by value (selective filters drive the query from it).
CREATE TABLE IF NOT EXISTS attr_values(
    pk INTEGER NOT NULL, nid INTEGER NOT NULL, v NOT NULL, PRIMARY KEY(pk, nid, v)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS attr_values_key ON attr_values(nid, v);
CREATE VIRTUAL TABLE IF NOT EXISTS geo_rtree USING rtree(gid, min_lon, max_lon, min_lat, max_lat);
CREATE TABLE IF NOT EXISTS geo_index(
    gid INTEGER PRIMARY KEY, pk INTEGER NOT NULL, nid INTEGER NOT NULL,
    ghash INTEGER NOT NULL        -- fingerprint of the geometry: unchanged ones are not rewritten
);
CREATE INDEX IF NOT EXISTS geo_index_pk ON geo_index(pk);
"""


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _regexp(pattern: str, value: object) -> bool:
    """SQL ``REGEXP``: a search (not a full match), as NGSI-LD ``~=`` and idPattern use it."""
    if not isinstance(value, str):
        return False
    return _compiled(pattern).search(value) is not None


def configure(conn: sqlite3.Connection, *, synchronous: str = "NORMAL") -> None:
    """Pragmas every connection gets; WAL lets readers run beside the single writer."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA mmap_size=268435456")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.create_function("regexp", 2, _regexp, deterministic=True)


class SchemaMismatch(RuntimeError):
    """The database file was made by another version of the schema."""


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the tables of a new database, or check the version of an existing one."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
    ).fetchone()
    if has_meta:
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is not None and row[0] != str(SCHEMA_VERSION):
            raise SchemaMismatch(
                f"the database uses schema version {row[0]}, this hyperville needs "
                f"{SCHEMA_VERSION}: export its entities and load them into a new file"
            )
    conn.executescript(SCHEMA)
    conn.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?)", (str(SCHEMA_VERSION),)
    )
    _align_index_layout(conn)
    conn.commit()


def _align_index_layout(conn: sqlite3.Connection) -> None:
    """Drop the index rows of instance members this version no longer indexes (observedAt,
    indexed by earlier versions): queries never read them, writes would not update them."""
    row = conn.execute("SELECT value FROM meta WHERE key='index_layout'").fetchone()
    if row is not None and row[0] == INDEX_LAYOUT:
        return
    for member in UNINDEXED_MEMBERS:
        suffix = SUB + member
        conn.execute(
            "DELETE FROM attr_values WHERE nid IN "
            "(SELECT nid FROM names WHERE substr(iri, -?) = ?)",
            (len(suffix), suffix),
        )
    conn.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES('index_layout', ?)", (INDEX_LAYOUT,)
    )
