"""The compacted-answer cache: keyed by the exact stored document and the variant, bounded."""

from __future__ import annotations

import orjson

from hyperville.ngsild.compacted import ENTRY_OVERHEAD_BYTES, CompactedCache


def doc(n: int, value: object = 1) -> bytes:
    return orjson.dumps({"id": f"urn:x:{n}", "v": value})


class Counting:
    """A compaction that counts its calls and tags its output with the variant."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.calls = 0

    def __call__(self, entity: dict) -> dict:
        self.calls += 1
        return {"id": entity["id"], "v": entity["v"], "tag": self.tag}


def test_a_repeated_document_is_compacted_once():
    cache, compact = CompactedCache(), Counting("a")
    first = cache.render([doc(1), doc(2)], "a", compact)
    again = cache.render([doc(2), doc(1)], "a", compact)
    assert first == [b'{"id":"urn:x:1","v":1,"tag":"a"}', b'{"id":"urn:x:2","v":1,"tag":"a"}']
    assert again == first[::-1]
    assert compact.calls == 2 and (cache.hits, cache.misses) == (2, 2)


def test_a_changed_document_or_another_variant_is_compacted_again():
    cache, a, b = CompactedCache(), Counting("a"), Counting("b")
    cache.render([doc(1)], "a", a)
    assert cache.render([doc(1, value=2)], "a", a) == [b'{"id":"urn:x:1","v":2,"tag":"a"}']
    assert cache.render([doc(1)], "b", b) == [b'{"id":"urn:x:1","v":1,"tag":"b"}']
    assert (a.calls, b.calls) == (2, 1)


def test_the_least_recently_used_entries_go_first_past_the_byte_budget():
    size = len(doc(1)) + len(b'{"id":"urn:x:1","v":1,"tag":"a"}') + ENTRY_OVERHEAD_BYTES
    cache, compact = CompactedCache(max_bytes=2 * size), Counting("a")
    cache.render([doc(1), doc(2)], "a", compact)
    cache.render([doc(1)], "a", compact)  # 1 is now the most recent
    cache.render([doc(3)], "a", compact)  # evicts 2
    assert len(cache) == 2 and cache.size_bytes == 2 * size
    compact.calls = 0
    cache.render([doc(1), doc(3)], "a", compact)
    assert compact.calls == 0
    cache.render([doc(2)], "a", compact)
    assert compact.calls == 1


def test_an_entry_larger_than_the_budget_is_not_kept():
    cache, compact = CompactedCache(max_bytes=10), Counting("a")
    assert cache.render([doc(1)], "a", compact) == cache.render([doc(1)], "a", compact)
    assert compact.calls == 2 and len(cache) == 0 and cache.size_bytes == 0


def test_a_zero_budget_caches_nothing_and_still_answers():
    """answer_cache_mb: 0 turns the cache off: every answer is compacted again."""
    cache, compact = CompactedCache(0), Counting("a")
    first = cache.render([doc(1), doc(2)], "a", compact)
    again = cache.render([doc(1), doc(2)], "a", compact)
    assert first == again and compact.calls == 4
    assert len(cache) == 0 and cache.size_bytes == 0
