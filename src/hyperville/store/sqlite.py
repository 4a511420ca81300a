"""The embedded SQLite store: WAL, one writer thread fed in batches, readers in parallel.

Writes: callers queue functions (:meth:`SQLiteStore.submit`); the writer thread takes up to
``batch_max`` of them at a time, runs each in its own SAVEPOINT of one transaction, commits
once, and only then resolves the callers' futures — so an acknowledged write is durable and
many small writes share one commit. Reads use one connection per thread.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

import orjson

from hyperville.core.errors import HypervilleError, InternalError
from hyperville.store import sqlite_history as history
from hyperville.store import sqlite_history_read as history_read
from hyperville.store.base import (
    AttributeInfo,
    EntityQuery,
    EntityStore,
    HistoryQuery,
    HistoryResult,
    QueryResult,
    StoreTx,
    TypeInfo,
)
from hyperville.store.sqlite_names import NameTable, TenantTable
from hyperville.store.sqlite_query import select_entities
from hyperville.store.sqlite_registrations import SQLiteRegistry
from hyperville.store.sqlite_registrations import create_schema as create_registry
from hyperville.store.sqlite_schema import configure, create_schema
from hyperville.store.sqlite_subscriptions import SQLiteSubscriptions
from hyperville.store.sqlite_subscriptions import create_schema as create_subscriptions
from hyperville.store.sqlite_tx import SQLiteTx

log = logging.getLogger(__name__)
ANALYZE_AFTER_OPS = 5000
ANALYZE_FIRST_AFTER_OPS = ANALYZE_AFTER_OPS - 200
ANALYZE_MIN_INTERVAL_S = 5.0  # sampled (analysis_limit): 3-7 ms at 100k entities
CHECKPOINT_INTERVAL_S = 1.0
WAL_TRUNCATE_BYTES = 256 * 1024 * 1024
WAL_KEPT_BYTES = 64 * 1024 * 1024  # a WAL started over is cut back to this size
CATCH_UP_FRAMES = 2000  # at most ~8 MB left for the writer to copy itself
CHECKPOINT_PASSES_MAX = 4
T = TypeVar("T")
_STOP = object()


class SQLiteStore(SQLiteSubscriptions, SQLiteRegistry, EntityStore):
    """Entities of every tenant in one SQLite file (``:memory:`` cannot be shared: use a file)."""

    def __init__(
        self, path: str | Path, *, synchronous: str = "NORMAL", batch_max: int = 512
    ) -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self.batch_max = batch_max
        self._queue: queue.Queue = queue.Queue()
        self._local = threading.local()
        self._writer: threading.Thread | None = None
        self._write_conn: sqlite3.Connection | None = None
        self._all_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self.names = NameTable()
        self.tenants_table = TenantTable()
        self.commits = 0
        self._ops_since_analyze = 0
        self._analyzed_at = 0.0
        self._checkpointer: threading.Thread | None = None
        self._stopping = threading.Event()
        # Set by the checkpointer after each checkpoint: the writer then copies, between two
        # batches, the few frames written meanwhile, so that its next transaction starts the
        # WAL over (see _checkpoint_loop).
        self._catch_up = threading.Event()
        self.wal_frames: list[int] = []  # WAL frames seen by the last checkpoints (newest last)

    # -- life cycle ---------------------------------------------------------------------
    def open(self) -> None:
        if self._writer is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        configure(conn, synchronous=self.synchronous)
        create_schema(conn)
        history.create_schema(conn)
        create_subscriptions(conn)
        create_registry(conn)
        # checkpoints run beside the writer (see _checkpoint_loop), not inside its commits
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute(f"PRAGMA journal_size_limit={WAL_KEPT_BYTES}")  # after a burst
        self._write_conn = conn
        self.names.load(conn)
        self.tenants_table.load(conn)
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name='sqlite_stat1'").fetchone() is None:
            self._ops_since_analyze = ANALYZE_FIRST_AFTER_OPS  # a new file: analyze early
        self._stopping.clear()
        self._writer = threading.Thread(target=self._write_loop, name="sqlite-writer", daemon=True)
        self._writer.start()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def close(self) -> None:
        if self._writer is None:
            return
        self._queue.put(_STOP)
        self._writer.join()
        self._writer = None
        self._stopping.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
            self._checkpointer = None
        with self._conns_lock:
            for conn in self._all_conns:
                with contextlib.suppress(sqlite3.Error):  # closing anyway
                    conn.close()
            self._all_conns.clear()
        self._local = threading.local()
        if self._write_conn is not None:
            self._write_conn.execute("PRAGMA optimize")
            self._write_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._write_conn.close()
            self._write_conn = None

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            configure(conn, synchronous=self.synchronous)
            conn.execute("PRAGMA query_only=1")
            conn.execute("PRAGMA cache_size=-8192")  # 8 MiB per reader; the OS caches the rest
            self._local.conn = conn
            with self._conns_lock:
                self._all_conns.append(conn)
        return conn

    # -- reads --------------------------------------------------------------------------
    def tenant_exists(self, tenant: str) -> bool:
        return self.tenants_table.get(tenant) is not None

    def tenants(self) -> list[str]:
        return self.tenants_table.all()

    def get_entity(self, tenant: str, entity_id: str) -> dict | None:
        tid = self.tenants_table.get(tenant)
        if tid is None:
            return None
        row = (
            self._reader()
            .execute("SELECT doc FROM entities WHERE tid=? AND eid=?", (tid, entity_id))
            .fetchone()
        )
        return orjson.loads(row[0]) if row else None

    def query_entities(self, tenant: str, query: EntityQuery) -> QueryResult:
        tid = self.tenants_table.get(tenant)
        if tid is None:
            return QueryResult([], 0 if query.count else None)
        return select_entities(self._reader(), self.names, tid, query)

    def entity_types(self, tenant: str) -> list[TypeInfo]:
        from hyperville.store.sqlite_discovery import entity_types

        tid = self.tenants_table.get(tenant)
        return [] if tid is None else entity_types(self._reader(), self.names, tid)

    def attributes(self, tenant: str) -> list[AttributeInfo]:
        from hyperville.store.sqlite_discovery import attributes

        tid = self.tenants_table.get(tenant)
        return [] if tid is None else attributes(self._reader(), self.names, tid)

    def _entity_pk(self, tenant: str, entity_id: str) -> int | None:
        tid = self.tenants_table.get(tenant)
        if tid is None:
            return None
        row = (
            self._reader()
            .execute("SELECT pk FROM entities WHERE tid=? AND eid=?", (tid, entity_id))
            .fetchone()
        )
        return row[0] if row else None

    def history(self, tenant: str, entity_id: str, query: HistoryQuery) -> HistoryResult:
        pk = self._entity_pk(tenant, entity_id)
        if pk is None:
            return HistoryResult({})
        found, cut = history_read.instances(self._reader(), self.names, pk, query)
        return HistoryResult(found, cut)

    def aggregate(self, tenant, entity_id, query, period_ms):
        pk = self._entity_pk(tenant, entity_id)
        if pk is None:
            return {}
        conn = self._reader()
        found = history_read.aggregate(conn, self.names, pk, query, period_ms)
        return {
            iri: {(self.names.get_name(ds, conn) if ds else None): rows for ds, rows in per.items()}
            for iri, per in found.items()
        }

    # -- writes -------------------------------------------------------------------------
    def submit(self, tenant: str, fn: Callable[[StoreTx], T]) -> Future:
        if self._writer is None:
            raise InternalError("the store is not open")
        future: Future = Future()
        self._queue.put((tenant, fn, future))
        return future

    def queue_depth(self) -> int:
        return self._queue.qsize()

    def _write_loop(self) -> None:
        conn = self._write_conn
        assert conn is not None
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self.batch_max:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                batch.append(more)
            self._ops_since_analyze += self._run_batch(conn, batch)
            if self._catch_up.is_set():
                self._catch_up.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:
                    log.debug("catch-up checkpoint skipped: %s", exc)
            if self._ops_since_analyze >= ANALYZE_AFTER_OPS:
                self._analyze(conn)
            if stop:
                return

    def _run_batch(self, conn: sqlite3.Connection, batch: list) -> int:
        """Run a batch in one transaction; returns how many entities it wrote."""
        written = 0
        outcomes: list[tuple[Future, object, BaseException | None]] = []
        history_rows: list[tuple] = []  # of every function of the batch, written once
        try:
            conn.execute("BEGIN IMMEDIATE")
            for tenant, fn, future in batch:
                if not future.set_running_or_notify_cancel():
                    continue
                conn.execute("SAVEPOINT op")
                self.names.begin_op()
                self.tenants_table.begin_op()
                tx = SQLiteTx(conn, self.names, self.tenants_table, tenant, history_rows)
                try:
                    result = fn(tx)
                    tx.flush()
                    written += tx.writes
                except BaseException as exc:  # noqa: BLE001 - every error goes to its caller
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    self.names.rollback_op()
                    self.tenants_table.rollback_op()
                    history_rows += tx.rewrite_on_rollback  # others' rows it had written
                    if not isinstance(exc, HypervilleError):
                        log.exception("write failed")
                    outcomes.append((future, None, exc))
                else:
                    conn.execute("RELEASE op")
                    self.names.end_op()
                    self.tenants_table.end_op()
                    history_rows += tx.history_rows
                    outcomes.append((future, result, None))
            history.write(conn, history_rows)
            conn.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as exc:
            log.exception("write transaction failed")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self.names.rollback_batch()
            self.tenants_table.rollback_batch()
            error = InternalError(f"storage failure: {exc}")
            for _tenant, _fn, future in batch:
                if future.running():
                    future.set_exception(error)
            return 0
        self.names.commit_batch()
        self.tenants_table.commit_batch()
        for future, result, error in outcomes:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
        return written

    # -- maintenance --------------------------------------------------------------------
    def _analyze(self, conn: sqlite3.Connection) -> None:
        """Refresh the planner's statistics: without them SQLite scans instead of seeking.

        ``analysis_limit`` samples each index, so this takes milliseconds even on big files.
        """
        now = time.monotonic()
        if now - self._analyzed_at < ANALYZE_MIN_INTERVAL_S:
            return
        try:
            conn.execute("PRAGMA analysis_limit=1000")
            conn.execute("ANALYZE")
        except sqlite3.Error:
            log.exception("ANALYZE failed")
        self._analyzed_at = time.monotonic()
        self._ops_since_analyze = 0

    def analyze(self) -> None:
        """Refresh the planner's statistics now (after a bulk load)."""

        def run(tx: SQLiteTx) -> None:
            tx.conn.execute("PRAGMA analysis_limit=1000")
            tx.conn.execute("ANALYZE")

        self.transact_sync("", run)  # type: ignore[arg-type]

    def _checkpoint_loop(self) -> None:
        """Copy the WAL back into the database file beside the writer, once a second.

        Under continuous writes such a checkpoint never ends with the whole WAL copied (the
        writer appends meanwhile), and SQLite starts the WAL over only when a write
        transaction begins with every frame copied: the WAL would grow until the blocking
        TRUNCATE below (measured: 220 MB in 3 s of partial updates, then a 1.9 s stall).
        So after each checkpoint the writer copies the frames written meanwhile itself,
        between two batches, and its next transaction starts the WAL over. To keep that
        serial part small, this thread first checkpoints again while the previous pass
        left more than ``CATCH_UP_FRAMES`` new frames (each pass copies what the writer
        appended during the one before)."""
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        configure(conn, synchronous=self.synchronous)
        wal = Path(str(self.path) + "-wal")
        try:
            while not self._stopping.wait(CHECKPOINT_INTERVAL_S):
                try:
                    big = wal.exists() and wal.stat().st_size > WAL_TRUNCATE_BYTES
                    mode = "TRUNCATE" if big else "PASSIVE"
                    busy, frames, _copied = conn.execute(
                        f"PRAGMA wal_checkpoint({mode})"
                    ).fetchone()
                    # copy what the writer appended meanwhile, while that is a lot: the
                    # writer's own catch-up (serial with the writes) stays a few ms
                    for _ in range(CHECKPOINT_PASSES_MAX):
                        if busy or mode != "PASSIVE":
                            break
                        before = frames
                        busy, frames, _copied = conn.execute(
                            "PRAGMA wal_checkpoint(PASSIVE)"
                        ).fetchone()
                        if frames - before <= CATCH_UP_FRAMES:
                            break
                    self.wal_frames = [*self.wal_frames[-9:], frames]
                    if not busy:
                        self._catch_up.set()
                except sqlite3.Error as exc:  # busy: the next round catches up
                    log.debug("checkpoint skipped: %s", exc)
        finally:
            conn.close()
