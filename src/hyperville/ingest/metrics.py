"""Ingestion counters, exposed in the Prometheus text format (``GET /metrics``).

Counters are per process and start at zero; ``hyperville status`` reads them from a running
server. Every method is thread-safe (HTTP handlers, the MQTT thread and the store's writer
all count).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable

COUNTERS = {
    "received": "messages received (before validation)",
    "accepted": "messages whose readings are durable in the store",
    "points": "data points (attribute readings) durable in the store",
    "rejected": "messages refused (invalid, unauthorized, unknown device, busy)",
    "dead_lettered": "messages written to the dead-letter store",
    "duplicates": "redelivered messages recognised and not applied again",
}


class IngestMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, tuple], int] = defaultdict(int)
        self._commit_sum = 0.0
        self._commit_count = 0
        self.started = time.time()
        self.queue_depth: Callable[[], int] = lambda: 0
        self.queue_capacity = 0
        self.oldest_pending: Callable[[], float | None] = lambda: None

    def count(self, name: str, source: str, n: int = 1, reason: str | None = None) -> None:
        labels = (("source", source),) + ((("reason", reason),) if reason else ())
        with self._lock:
            self._counts[(name, labels)] += n

    def committed(self, seconds: float) -> None:
        with self._lock:
            self._commit_sum += seconds
            self._commit_count += 1

    def total(self, name: str) -> int:
        with self._lock:
            return sum(v for (n, _), v in self._counts.items() if n == name)

    def lag_s(self) -> float:
        oldest = self.oldest_pending()
        return 0.0 if oldest is None else max(0.0, time.monotonic() - oldest)

    def snapshot(self) -> dict:
        """The totals, for ``hyperville status`` and tests."""
        out = {name: self.total(name) for name in COUNTERS}
        out.update(
            queue_depth=self.queue_depth(),
            queue_capacity=self.queue_capacity,
            lag_s=round(self.lag_s(), 3),
        )
        return out

    def prometheus(self) -> str:
        lines = []
        with self._lock:
            counts = dict(self._counts)
            commit_sum, commit_count = self._commit_sum, self._commit_count
        for name, help_text in COUNTERS.items():
            metric = f"hyperville_ingest_{name}_total"
            lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} counter"]
            rows = [(labels, v) for (n, labels), v in sorted(counts.items()) if n == name]
            for labels, value in rows or [((), 0)]:
                label_text = ",".join(f'{k}="{v}"' for k, v in labels)
                sample = f"{metric}{{{label_text}}}" if label_text else metric
                lines.append(f"{sample} {value}")
        gauges = {
            "queue_depth": ("data points waiting to be written", self.queue_depth()),
            "queue_capacity": ("most data points that may wait", self.queue_capacity),
            "lag_seconds": ("age of the oldest message not yet durable", round(self.lag_s(), 6)),
        }
        for name, (help_text, value) in gauges.items():
            metric = f"hyperville_ingest_{name}"
            lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} gauge", f"{metric} {value}"]
        metric = "hyperville_ingest_commit_seconds"
        lines += [
            f"# HELP {metric} time from receipt to durable commit",
            f"# TYPE {metric} summary",
            f"{metric}_sum {commit_sum:.6f}",
            f"{metric}_count {commit_count}",
        ]
        return "\n".join(lines) + "\n"


def parse_prometheus(text: str) -> dict[str, float]:
    """Sum the samples of each metric (labels dropped): what ``hyperville status`` prints."""
    totals: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_part, _, value = line.rpartition(" ")
        name = name_part.split("{", 1)[0]
        try:
            totals[name] += float(value)
        except ValueError:
            continue
    return dict(totals)
