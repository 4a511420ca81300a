"""JSON-LD ``@context`` resolution for NGSI-LD, offline first.

:class:`ContextResolver` turns a client's ``@context`` (URL, inline object, list, or nothing)
into a :class:`Context` with precomputed term maps: ``expand_term`` / ``compact_iri`` are dict
lookups. Documents come from, in order:

1. package data: every core context URL (v1.0…v1.9; v1.1–1.2 served by the v1.3 copy,
   v1.5–1.7 and the un-versioned URL by v1.8);
2. the cache directory: ``index.json`` there is one JSON object mapping a context URL to a file
   path relative to the directory, e.g. ``{"https://example.org/ctx.jsonld": "ctx.jsonld"}``;
3. the network (``allow_remote``): httpx GET, ``Accept: application/ld+json``, short timeout,
   redirects followed; kept in memory and, if the directory is writable, saved there as
   ``remote-<sha256>.jsonld`` and added to ``index.json``. Any failure raises
   :class:`LdContextNotAvailable` naming the URL and is remembered ``NEGATIVE_TTL_S`` seconds.

Supported: term definitions as strings, compact IRIs or objects (``@id``, ``@type``,
``@container``, ``@prefix``), terms defined through other terms/prefixes of the same context,
``@vocab``, ``@import``, nested remote references (``MAX_DEPTH``; recursion is a
BadRequestData), ``null`` resets user terms. Scoped contexts (``@context`` inside a term, e.g.
``ngsildproof`` in core v1.9) are ignored, so nothing is fetched for them. The core context is
applied last and protected: its terms, prefixes and ``@vocab`` win. User term definitions may
use the core prefixes (``ngsi-ld:``, ``geojson:``).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from collections import OrderedDict
from importlib import resources
from pathlib import Path

import httpx
import orjson

from hyperville.core.errors import BadRequestData, LdContextNotAvailable

CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
_CORE_PREFIX = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context"
_BUILTIN_FILES = {"": "v1.8", "-v1.0": "v1.0", "-v1.4": "v1.4", "-v1.9": "v1.9"}
_BUILTIN_FILES |= {f"-v1.{i}": "v1.3" for i in (1, 2, 3)} | {
    f"-v1.{i}": "v1.8" for i in (5, 6, 7, 8)
}
BUILTIN_URLS = {_CORE_PREFIX + s + ".jsonld": v for s, v in _BUILTIN_FILES.items()}
INDEX_FILE = "index.json"
MAX_DEPTH = 8
MEMO_SIZE = 1024
NEGATIVE_TTL_S = 10.0
MAX_CONTEXT_BYTES = 4 * 1024 * 1024
_GEN_DELIMS = (":", "/", "?", "#", "[", "]", "@")

_builtin_docs: dict[str, dict] = {}
_builtin_lock = threading.Lock()


def _builtin_document(version: str) -> dict:
    """The ``@context`` object of a packaged core context, scoped contexts stripped."""
    with _builtin_lock:
        doc = _builtin_docs.get(version)
        if doc is None:
            name = f"ngsi-ld-core-context-{version}.jsonld"
            data = resources.files("hyperville.data.contexts").joinpath(name).read_bytes()
            doc = orjson.loads(data)["@context"]
            for term, definition in doc.items():
                if isinstance(definition, dict) and "@context" in definition:
                    doc[term] = {k: v for k, v in definition.items() if k != "@context"}
            _builtin_docs[version] = doc
        return doc


class _Layer:
    """Term state while processing contexts: IRI, @type and prefix flag per term, @vocab."""

    __slots__ = ("terms", "types", "prefixes", "vocab")

    def __init__(self) -> None:
        self.terms: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self.prefixes: dict[str, str] = {}
        self.vocab: str | None = None

    def apply(self, local: dict, fallback_prefixes: dict[str, str]) -> None:
        """Process one local context object into this layer (JSON-LD create term definition)."""
        done: dict[str, str | None] = {}

        def iri_of(value: str, seen: frozenset[str]) -> str:
            if value.startswith("@"):
                return value
            if ":" in value:
                prefix, _, suffix = value.partition(":")
                if suffix.startswith("//") or prefix == "_":
                    return value
                if prefix in local and prefix not in seen:
                    base = define(prefix, seen | {prefix})
                    if base is not None:
                        return base + suffix
                base = self.prefixes.get(prefix) or fallback_prefixes.get(prefix)
                return base + suffix if base else value
            if value in local and value not in seen:
                defined = define(value, seen | {value})
                if defined is not None:
                    return defined
            if value in self.terms:
                return self.terms[value]
            return (self.vocab + value) if self.vocab else value

        def define(term: str, seen: frozenset[str]) -> str | None:
            if term in done:
                return done[term]
            definition = local[term]
            done[term] = None
            if definition is None:
                self.terms.pop(term, None)
                self.prefixes.pop(term, None)
                self.types.pop(term, None)
                return None
            if isinstance(definition, str):
                raw_id, typ, prefix_flag = definition, None, None
            elif isinstance(definition, dict):
                raw_id = definition.get("@id")
                typ = definition.get("@type")
                prefix_flag = definition.get("@prefix")
                if raw_id is None:
                    raw_id = term
            else:
                raise BadRequestData(f"invalid @context term definition for {term!r}")
            if not isinstance(raw_id, str) or (typ is not None and not isinstance(typ, str)):
                raise BadRequestData(f"invalid @context term definition for {term!r}")
            iri = iri_of(raw_id, seen | {term})
            done[term] = iri
            self.terms[term] = iri
            if typ is not None:
                self.types[term] = typ if typ.startswith("@") else iri_of(typ, seen | {term})
            else:
                self.types.pop(term, None)
            is_prefix = prefix_flag if prefix_flag is not None else iri.endswith(_GEN_DELIMS)
            if is_prefix and not iri.startswith("@") and ":" not in term:
                self.prefixes[term] = iri
            else:
                self.prefixes.pop(term, None)
            return iri

        vocab = local.get("@vocab", ...)
        if vocab is None:
            self.vocab = None
        elif isinstance(vocab, str):
            self.vocab = iri_of(vocab, frozenset()) if vocab else None
        for term in local:
            if not term.startswith("@"):
                define(term, frozenset((term,)))


_SERIALS = itertools.count()


class Context:
    """A resolved ``@context``: the raw value plus precomputed term maps.

    ``serial`` tells contexts apart for caches without keeping them alive: each Context
    gets its own, and its term maps never change.
    """

    def __init__(self, raw: object, link_url: str | None, layer: _Layer) -> None:
        self.serial = next(_SERIALS)
        self.raw = raw
        self.link_url = link_url
        self.vocab = layer.vocab
        self._terms = layer.terms
        self._prefixes = layer.prefixes
        reverse: dict[str, str] = {}
        for term, iri in layer.terms.items():
            if iri.startswith("@"):
                continue
            best = reverse.get(iri)
            if best is None or (len(term), term) < (len(best), best):
                reverse[iri] = term
        self._reverse = reverse
        types = dict(layer.types)
        for iri, term in reverse.items():
            if term in layer.types:
                types.setdefault(iri, layer.types[term])
        self._types = types
        self._prefix_list = sorted(
            ((iri, p) for p, iri in layer.prefixes.items()), key=lambda x: -len(x[0])
        )
        self._expand_cache: dict[str, str] = {}
        self._compact_cache: dict[str, str] = {}

    def expand_term(self, term: str) -> str:
        """Expand an attribute name or entity type to an IRI."""
        iri = self._terms.get(term)
        if iri is not None:
            return iri
        iri = self._expand_cache.get(term)
        if iri is not None:
            return iri
        if ":" in term:
            prefix, _, suffix = term.partition(":")
            base = None if suffix.startswith("//") else self._prefixes.get(prefix)
            iri = base + suffix if base is not None else term
        else:
            iri = self.vocab + term if self.vocab else term
        if len(self._expand_cache) > 8192:
            self._expand_cache.clear()
        self._expand_cache[term] = iri
        return iri

    def compact_iri(self, iri: str) -> str:
        """Compact an IRI: a term, else ``prefix:suffix``, else relative to @vocab, else itself."""
        term = self._reverse.get(iri)
        if term is not None:
            return term
        out = self._compact_cache.get(iri)
        if out is not None:
            return out
        out = iri
        vocab = self.vocab
        if vocab and iri.startswith(vocab) and len(iri) > len(vocab):
            rest = iri[len(vocab) :]
            if rest not in self._terms and ":" not in rest:
                out = rest
        if out is iri:
            for base, prefix in self._prefix_list:
                if iri.startswith(base) and len(iri) > len(base):
                    suffix = iri[len(base) :]
                    if not suffix.startswith("//"):
                        out = f"{prefix}:{suffix}"
                        break
        if len(self._compact_cache) > 8192:
            self._compact_cache.clear()
        self._compact_cache[iri] = out
        return out

    def term_type(self, term_or_iri: str) -> str | None:
        """The ``@type`` of the term definition for a term or IRI (``@vocab``, ``@id``…)."""
        return self._types.get(term_or_iri)

    def __repr__(self) -> str:
        return f"Context(link_url={self.link_url!r}, terms={len(self._terms)})"


def _key(value: object) -> object:
    """A hashable memo key for a @context value."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return tuple(_key(v) for v in value)
    if isinstance(value, dict):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except TypeError as exc:
            raise BadRequestData("invalid @context value") from exc
    raise BadRequestData("@context must be a string, an object or an array")


class ContextResolver:
    """Resolves ``@context`` values to :class:`Context` objects; thread-safe, memoized."""

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        fetch_timeout_s: float = 3.0,
        allow_remote: bool = True,
        core_url: str = CORE_CONTEXT_URL,
    ) -> None:
        if core_url not in BUILTIN_URLS:
            raise ValueError(f"core_url must be a built-in core context URL: {core_url}")
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.fetch_timeout_s = fetch_timeout_s
        self.allow_remote = allow_remote
        self.core_url = core_url
        self._lock = threading.RLock()
        self._docs: dict[str, object] = {}
        self._failures: dict[str, tuple[float, str]] = {}
        self._index: dict[str, str] | None = None
        self._memo: OrderedDict[object, Context] = OrderedDict()
        core_layer = _Layer()
        core_layer.apply(_builtin_document(BUILTIN_URLS[core_url]), {})
        self._core_layer = core_layer
        self._core = Context(core_url, core_url, core_layer)  # layer dicts never mutated

    def core(self) -> Context:
        """The core context alone."""
        return self._core

    def resolve(self, value: str | list | dict | None) -> Context:
        """Resolve a @context value (None means the core context)."""
        if value is None or value == [] or value == self.core_url:
            return self._core
        key = _key(value)
        with self._lock:
            ctx = self._memo.get(key)
            if ctx is not None:
                self._memo.move_to_end(key)
                return ctx
        locals_: list[dict | None] = []
        self._flatten(value, locals_, (), 0)
        layer = _Layer()
        core_prefixes = self._core_layer.prefixes
        for local in locals_:
            if local is None:
                layer = _Layer()
            else:
                layer.apply(local, core_prefixes)
        core = self._core_layer
        layer.terms.update(core.terms)
        for term in core.terms:
            layer.types.pop(term, None)
            layer.prefixes.pop(term, None)
        layer.types.update(core.types)
        layer.prefixes.update(core.prefixes)
        layer.vocab = core.vocab
        ctx = Context(value, self._link_url(value), layer)
        with self._lock:
            self._memo[key] = ctx
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return ctx

    def is_resolved(self, value: object) -> bool:
        """True when :meth:`resolve` would do no I/O for this value."""
        if value is None or value == [] or value == self.core_url:
            return True
        try:
            key = _key(value)
        except BadRequestData:
            return True
        with self._lock:
            if key in self._memo:
                return True
        return self._available(value, 0)

    def _available(self, value: object, depth: int) -> bool:
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, str):
            if value in BUILTIN_URLS:
                return True
            doc = self._docs.get(value)
            return doc is not None and self._available(doc, depth + 1)
        if isinstance(value, list):
            return all(self._available(v, depth) for v in value)
        if isinstance(value, dict) and isinstance(value.get("@import"), str):
            return self._available(value["@import"], depth + 1)
        return True

    def _link_url(self, value: object) -> str | None:
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in items):
            return None
        urls = [v for v in items if v not in BUILTIN_URLS]
        if not urls:
            return items[0] if len(items) == 1 else self.core_url
        return urls[0] if len(urls) == 1 else None

    def _flatten(self, value: object, out: list, chain: tuple[str, ...], depth: int) -> None:
        """Append the local context objects of ``value`` to ``out``, fetching references."""
        if depth > MAX_DEPTH:
            raise BadRequestData(f"@context nesting deeper than {MAX_DEPTH} levels")
        if value is None:
            out.append(None)
        elif isinstance(value, str):
            if value in chain:
                raise BadRequestData(f"recursive @context inclusion of {value}")
            if value in BUILTIN_URLS:
                out.append(_builtin_document(BUILTIN_URLS[value]))
            else:
                self._flatten(self._document(value), out, (*chain, value), depth + 1)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, list):
                    raise BadRequestData("invalid @context: nested array")
                self._flatten(item, out, chain, depth)
        elif isinstance(value, dict):
            imported = value.get("@import")
            if imported is not None:
                if not isinstance(imported, str):
                    raise BadRequestData("invalid @context: @import must be a string")
                sub: list = []
                self._flatten(imported, sub, chain, depth + 1)
                merged: dict = {}
                for local in sub:
                    if isinstance(local, dict):
                        merged.update(local)
                merged.update(value)
                value = merged
            out.append(value)
        else:
            raise BadRequestData("@context must be a string, an object or an array")

    def _document(self, url: str) -> object:
        """The ``@context`` value of the document at ``url`` (memory, cache dir, network)."""
        doc = self._docs.get(url)
        if doc is not None:
            return doc
        doc = self._from_cache_dir(url)
        if doc is None:
            if not url.startswith(("http://", "https://")):
                raise LdContextNotAvailable(f"@context {url} is not a dereferenceable URL")
            doc = self._fetch(url)
        with self._lock:
            self._docs[url] = doc
        return doc

    def _load_index(self) -> dict[str, str]:
        if self._index is None:
            index: dict[str, str] = {}
            if self.cache_dir is not None:
                path = self.cache_dir / INDEX_FILE
                try:
                    data = orjson.loads(path.read_bytes())
                    if isinstance(data, dict):
                        index = {k: v for k, v in data.items() if isinstance(v, str)}
                except (OSError, orjson.JSONDecodeError):
                    index = {}
            self._index = index
        return self._index

    def _from_cache_dir(self, url: str) -> object | None:
        if self.cache_dir is None:
            return None
        with self._lock:
            rel = self._load_index().get(url)
        if rel is None:
            return None
        try:
            return _context_of(orjson.loads((self.cache_dir / rel).read_bytes()), url)
        except (OSError, orjson.JSONDecodeError) as exc:
            raise LdContextNotAvailable(f"@context {url}: cached copy {rel} unreadable") from exc

    def _fetch(self, url: str) -> object:
        failed = self._failures.get(url)
        if failed is not None and time.monotonic() - failed[0] < NEGATIVE_TTL_S:
            raise LdContextNotAvailable(f"@context {url} not available: {failed[1]}")
        if not self.allow_remote:
            raise LdContextNotAvailable(f"@context {url} not available (remote fetch disabled)")
        try:
            headers = {"Accept": "application/ld+json, application/json;q=0.9"}
            resp = httpx.get(
                url, headers=headers, timeout=self.fetch_timeout_s, follow_redirects=True
            )
            if resp.status_code != 200:
                raise ValueError(f"HTTP status {resp.status_code}")
            if len(resp.content) > MAX_CONTEXT_BYTES:
                raise ValueError("document too large")
            doc = _context_of(orjson.loads(resp.content), url)
        except (httpx.HTTPError, ValueError, LdContextNotAvailable) as exc:
            reason = exc.detail if isinstance(exc, LdContextNotAvailable) else str(exc)
            reason = reason or type(exc).__name__
            with self._lock:
                self._failures[url] = (time.monotonic(), reason)
            raise LdContextNotAvailable(f"@context {url} not available: {reason}") from exc
        self._store(url, resp.content)
        return doc

    def _store(self, url: str, content: bytes) -> None:
        """Write a fetched document into the cache directory, if writable (best effort)."""
        if self.cache_dir is None:
            return
        name = "remote-" + hashlib.sha256(url.encode()).hexdigest()[:20] + ".jsonld"
        with self._lock:
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                (self.cache_dir / name).write_bytes(content)
                index = dict(self._load_index())
                index[url] = name
                tmp = self.cache_dir / f".{INDEX_FILE}.{os.getpid()}.tmp"
                tmp.write_bytes(orjson.dumps(index, option=orjson.OPT_INDENT_2))
                os.replace(tmp, self.cache_dir / INDEX_FILE)
                self._index = index
            except OSError:
                pass


def _context_of(document: object, url: str) -> object:
    if not isinstance(document, dict) or "@context" not in document:
        raise LdContextNotAvailable(f"@context {url}: the document has no @context member")
    return document["@context"]
