"""Discovery reads (``/types``, ``/attributes``) over the SQLite index tables."""

from __future__ import annotations

import sqlite3

from hyperville.store.base import AttributeInfo, TypeInfo
from hyperville.store.indexing import kinds_of
from hyperville.store.sqlite_names import NameTable


def entity_types(conn: sqlite3.Connection, names: NameTable, tid: int) -> list[TypeInfo]:
    """Every entity type of a tenant with its entity count and attributes (kinds)."""
    infos: dict[int, TypeInfo] = {}
    for nid, count in conn.execute(
        "SELECT nid, count(*) FROM entity_types WHERE tid=? GROUP BY nid", (tid,)
    ):
        infos[nid] = TypeInfo(names.get_name(nid, conn), count)
    rows = conn.execute(
        "SELECT t.nid, a.nid, a.kinds FROM entity_types t JOIN entity_attrs a ON a.pk=t.pk "
        "WHERE t.tid=? GROUP BY t.nid, a.nid, a.kinds",
        (tid,),
    )
    for type_nid, attr_nid, kinds in rows:
        attr = names.get_name(attr_nid, conn)
        infos[type_nid].attributes.setdefault(attr, set()).update(kinds_of(kinds))
    return sorted(infos.values(), key=lambda info: info.type)


def attributes(conn: sqlite3.Connection, names: NameTable, tid: int) -> list[AttributeInfo]:
    """Every attribute of a tenant with its count, kinds and the types that carry it."""
    infos: dict[int, AttributeInfo] = {}
    for nid, count in conn.execute(
        "SELECT nid, count(*) FROM entity_attrs WHERE tid=? GROUP BY nid", (tid,)
    ):
        infos[nid] = AttributeInfo(names.get_name(nid, conn), count, set(), set())
    rows = conn.execute(
        "SELECT a.nid, a.kinds, t.nid FROM entity_attrs a JOIN entity_types t ON t.pk=a.pk "
        "WHERE a.tid=? GROUP BY a.nid, a.kinds, t.nid",
        (tid,),
    )
    for attr_nid, kinds, type_nid in rows:
        info = infos[attr_nid]
        info.attribute_types.update(kinds_of(kinds))
        info.type_names.add(names.get_name(type_nid, conn))
    return list(infos.values())  # first-seen order (interning order), as clients expect
