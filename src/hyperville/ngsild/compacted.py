"""Compacted answers cached per stored entity document: a repeated query skips the JSON work.

A query answer compacts every entity it returns for the requester's ``@context`` and
options, then renders it as JSON: about 15 µs an entity, most of a 100-entity page's cost.
The result depends only on the stored document (its exact bytes, which change with every
write: ``modifiedAt`` at least), the :class:`Context` object and the rendering options. So
:class:`CompactedCache` keeps the rendered JSON of each (variant, document) pair, least
recently used first out, within a budget in bytes that counts the documents (the keys), the
rendered JSON and a fixed overhead per entry. A hit costs a hash of the document bytes and
one comparison; nothing is parsed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import orjson

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
ENTRY_OVERHEAD_BYTES = 200  # key tuple, dict entry and two bytes object headers, about
MAX_VARIANTS = 4096


class CompactedCache:
    """Rendered JSON of stored documents per variant (context and options); thread-safe."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size_bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[int, bytes], bytes] = OrderedDict()
        self._variants: dict[Hashable, int] = {}
        self._next_variant = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def render(
        self, docs: list[bytes], variant: Hashable, compact: Callable[[dict], object]
    ) -> list[bytes]:
        """The JSON of ``compact(entity)`` for each stored document, from the cache if there.

        ``variant`` must identify everything ``compact`` depends on besides the document.
        """
        with self._lock:
            vid = self._variants.get(variant)
            if vid is None:
                if len(self._variants) >= MAX_VARIANTS:
                    self._clear()
                vid = self._variants[variant] = self._next_variant
                self._next_variant += 1
            entries = self._entries
            out: list[bytes | None] = []
            for doc in docs:
                found = entries.get((vid, doc))
                if found is not None:
                    entries.move_to_end((vid, doc))
                out.append(found)
            missing = [i for i, found in enumerate(out) if found is None]
            self.hits += len(docs) - len(missing)
            self.misses += len(missing)
        if not missing:
            return out  # type: ignore[return-value]
        made = [(docs[i], orjson.dumps(compact(orjson.loads(docs[i])))) for i in missing]
        for i, (_doc, rendered) in zip(missing, made, strict=True):
            out[i] = rendered
        with self._lock:
            if self._variants.get(variant) == vid:  # not cleared meanwhile
                for doc, rendered in made:
                    self._add((vid, doc), rendered)
        return out  # type: ignore[return-value]

    def _add(self, key: tuple[int, bytes], rendered: bytes) -> None:
        cost = len(key[1]) + len(rendered) + ENTRY_OVERHEAD_BYTES
        if cost > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.size_bytes -= len(key[1]) + len(old) + ENTRY_OVERHEAD_BYTES
        self._entries[key] = rendered
        self.size_bytes += cost
        while self.size_bytes > self.max_bytes:
            (_vid, doc), gone = self._entries.popitem(last=False)
            self.size_bytes -= len(doc) + len(gone) + ENTRY_OVERHEAD_BYTES

    def _clear(self) -> None:
        self._entries.clear()
        self._variants.clear()
        self.size_bytes = 0
