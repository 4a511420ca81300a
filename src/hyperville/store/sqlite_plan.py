"""Choose which index leads an entity query, from cheap counts of the real data.

SQLite's statistics are averages per index; they cannot tell that ``powerState=="on"``
matches 24,000 rows while ``powerState=="broken"`` matches none. So for each condition that
can be answered by an index lookup (a type, an equality, a range, a box, a list of ids) we
count its rows — stopping at ``ESTIMATE_CAP`` so a count costs about 0.1 ms — and let the
cheapest lead. The other conditions are checked per row by correlated index seeks, and results
stream in primary-key order so ``LIMIT`` stops early.

A lookup whose rows come in primary-key order (an equality on an index prefix) only reads
rows until the page is full: with ``wanted`` rows asked and at most ``n_min`` matches (the
smallest lookup), it reads about ``count × wanted / n_min`` rows. Other lookups read all
their rows. When several lookups pass the cap, the capped counts cannot tell them apart:
a query seen again within ``PLAN_TTL_S`` then counts them up to ``REFINE_CAP`` once.

Choices are remembered ``PLAN_TTL_S`` seconds per set of lookups (their SQL and parameters),
so a repeated query pays no count. A choice is only a matter of speed: every lookup selects
a superset of the matches and the other conditions are always checked, so a stale choice,
or one made on another database, is never wrong, at worst slower.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

ESTIMATE_CAP = 2000
REFINE_CAP = 100_000  # about 5 ms per lookup counted, once per query and PLAN_TTL_S
PLAN_TTL_S = 30.0
PLAN_MEMO_SIZE = 512
TENANT_CONDITION = "e.tid = ?"


@dataclass
class Driver:
    """An index lookup that yields a superset of the matching entities' primary keys.

    ``condition`` is the index of the WHERE condition the lookup answers by itself (left out
    when it leads); ``tenant`` says it only yields entities of the queried tenant.
    """

    source: str  # FROM clause of the lookup (a table, or the R*Tree joined to geo_index)
    where: str  # its WHERE clause, with ? parameters; "$" stands for the table alias
    params: list
    ordered: bool  # its rows come out in primary-key order (an equality on an index prefix)
    pk_column: str = "pk"
    estimate: int | None = None
    condition: int | None = None
    tenant: bool = False

    def on(self, alias: str) -> str:
        return self.where.replace("$", alias)

    def count(self, conn: sqlite3.Connection, cap: int | None = None) -> int:
        """Its rows, counted up to ``cap`` (``ESTIMATE_CAP`` by default)."""
        cap = cap or ESTIMATE_CAP
        if self.estimate is None or (self.estimate >= ESTIMATE_CAP and cap > ESTIMATE_CAP):
            sql = (
                f"SELECT count(*) FROM (SELECT 1 FROM {self.source} WHERE {self.on('')} "
                f"LIMIT {cap})"
            )
            self.estimate = conn.execute(sql, self.params).fetchone()[0]
        return self.estimate

    def signature(self) -> tuple:
        return (self.source, self.where, tuple(self.params), self.ordered)


@dataclass
class Plan:
    """FROM … WHERE … and the ORDER BY column of one query, with its parameters.

    ``count_from_where`` counts the matches from the leading lookup alone when no condition
    needs the entity rows (None otherwise: count over ``from_where``).
    """

    from_where: str
    params: list
    order_by: str
    count_from_where: str | None = None


@dataclass(frozen=True)
class Condition:
    """One WHERE condition on ``entities e``; ``row`` when it reads more than ``e.pk``."""

    sql: str
    params: tuple
    row: bool = False


@dataclass(frozen=True)
class Choice:
    """The lookup that leads (an index into the drivers), the drivers from the most
    selective to the least (their conditions are checked in that order: a row that fails
    early costs fewer seeks), and whether big lookups were counted in full."""

    lead: int
    selective_first: tuple[int, ...]
    refined: bool


class _Choices:
    """Recent choices per driver signature, each kept ``PLAN_TTL_S`` seconds."""

    def __init__(self) -> None:
        self._memo: OrderedDict[tuple, tuple[float, Choice]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Choice | None:
        with self._lock:
            found = self._memo.get(key)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._memo[key]
                return None
            self._memo.move_to_end(key)
            return found[1]

    def put(self, key: tuple, choice: Choice) -> None:
        with self._lock:
            self._memo[key] = (time.monotonic() + PLAN_TTL_S, choice)
            self._memo.move_to_end(key)
            while len(self._memo) > PLAN_MEMO_SIZE:
                self._memo.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._memo.clear()


CHOICES = _Choices()


def _cost(driver: Driver, n_min: int, wanted: int | None) -> float:
    """Rows the lookup is expected to read (see the module docstring)."""
    count = driver.estimate or 0
    if driver.ordered and wanted is not None:
        return count * min(1.0, wanted / max(n_min, 1))
    return float(count)


def choose(conn: sqlite3.Connection, drivers: list[Driver], wanted: int | None) -> Choice:
    """How to run a query with these lookups; ``wanted`` = offset + limit (None: every
    match counts). Needs at least one driver."""
    if len(drivers) == 1:
        return Choice(0, (0,), True)
    key = (tuple(d.signature() for d in drivers), wanted is None)
    known = CHOICES.get(key)
    if known is not None and known.refined:
        return known
    for d in drivers:
        d.count(conn)
    capped = [d for d in drivers if d.estimate is not None and d.estimate >= ESTIMATE_CAP]
    refined = len(capped) < 2
    if not refined and known is not None:  # seen before: worth counting the big ones
        for d in capped:
            d.count(conn, REFINE_CAP)
        refined = True
    n_min = min(d.estimate or 0 for d in drivers)
    positions = range(len(drivers))
    lead = min(
        positions, key=lambda i: (_cost(drivers[i], n_min, wanted), not drivers[i].ordered, i)
    )
    selective = tuple(sorted(positions, key=lambda i: (drivers[i].estimate or 0, i)))
    choice = Choice(lead, selective, refined)
    CHOICES.put(key, choice)
    return choice


def plan(
    conn: sqlite3.Connection,
    conditions: list[Condition],
    drivers: list[Driver],
    wanted: int | None,
) -> Plan:
    """The cheapest way found to select ``entities e`` rows matching every condition."""
    if not drivers:
        where = " AND ".join(c.sql for c in conditions) or "1"
        return Plan(f"entities e WHERE {where}", [p for c in conditions for p in c.params], "e.pk")
    choice = choose(conn, drivers, wanted)
    best = drivers[choice.lead]
    rank = {drivers[d].condition: r for r, d in enumerate(choice.selective_first)}
    kept = [
        i
        for i, c in enumerate(conditions)
        if i != best.condition and not (best.tenant and c.sql == TENANT_CONDITION)
    ]
    rest = [conditions[i] for i in sorted(kept, key=lambda i: rank.get(i, len(rank)))]
    where = "".join(f" AND {c.sql}" for c in rest)
    params = [p for c in rest for p in c.params]
    index = " INDEXED BY attr_values_key" if best.source == "attr_values" else ""
    count = None
    if not any(c.row for c in rest):  # count from the indexes, without reading entities
        if best.ordered:  # each pk once
            count = f"{best.source} e{index} WHERE {best.on('e.')}{where}"
        else:
            count = (
                f"(SELECT DISTINCT {best.pk_column} AS pk FROM {best.source} "
                f"WHERE {best.on('')}) e WHERE 1{where}"
            )
    if best.ordered and best.source in ("entity_types", "attr_values"):
        # CROSS JOIN keeps the lookup as the outer loop: rows arrive in pk order, no sort
        return Plan(
            f"{best.source} d{index} CROSS JOIN entities e ON e.pk = d.pk "
            f"WHERE {best.on('d.')}{where}",
            [*best.params, *params],
            "d.pk",
            count,
        )
    return Plan(
        f"entities e WHERE e.pk IN (SELECT {best.pk_column} FROM {best.source} "
        f"WHERE {best.on('')}){where}",
        [*best.params, *params],
        "e.pk",
        count,
    )
