"""Choose which index leads an entity query, from cheap counts of the real data.

SQLite's statistics are averages per index; they cannot tell that ``powerState=="on"``
matches 24,000 rows while ``powerState=="broken"`` matches none. So for each condition that
can be answered by an index lookup (a type, an equality, a range, a box, a list of ids) we
count its rows — stopping at ``ESTIMATE_CAP`` so a count costs at most a fraction of a
millisecond — and let the smallest lead. The other conditions are checked per row by
correlated index seeks, and results stream in primary-key order so ``LIMIT`` stops early.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

ESTIMATE_CAP = 2000


@dataclass
class Driver:
    """An index lookup that yields a superset of the matching entities' primary keys."""

    source: str  # FROM clause of the lookup (a table, or the R*Tree joined to geo_index)
    where: str  # its WHERE clause, with ? parameters; "$" stands for the table alias
    params: list
    ordered: bool  # its rows come out in primary-key order (an equality on an index prefix)
    pk_column: str = "pk"
    estimate: int | None = None

    def on(self, alias: str) -> str:
        return self.where.replace("$", alias)

    def count(self, conn: sqlite3.Connection) -> int:
        if self.estimate is None:
            sql = (
                f"SELECT count(*) FROM (SELECT 1 FROM {self.source} WHERE {self.on('')} "
                f"LIMIT {ESTIMATE_CAP})"
            )
            self.estimate = conn.execute(sql, self.params).fetchone()[0]
        return self.estimate


@dataclass
class Plan:
    """FROM … WHERE … and the ORDER BY column of one query, with its parameters."""

    from_where: str
    params: list
    order_by: str


def plan(conn: sqlite3.Connection, where: str, params: list, drivers: list[Driver]) -> Plan:
    """The cheapest way found to select ``entities e`` rows matching ``where``."""
    if not drivers:
        return Plan(f"entities e WHERE {where}", params, "e.pk")
    best = min(drivers, key=lambda d: (d.count(conn), not d.ordered))
    if best.ordered and best.source in ("entity_types", "attr_values"):
        # CROSS JOIN keeps the lookup as the outer loop: rows arrive in pk order, no sort
        index = " INDEXED BY attr_values_key" if best.source == "attr_values" else ""
        return Plan(
            f"{best.source} d{index} CROSS JOIN entities e ON e.pk = d.pk "
            f"WHERE {best.on('d.')} AND {where}",
            [*best.params, *params],
            "d.pk",
        )
    return Plan(
        f"entities e WHERE e.pk IN (SELECT {best.pk_column} FROM {best.source} "
        f"WHERE {best.on('')}) AND {where}",
        [*best.params, *params],
        "e.pk",
    )
