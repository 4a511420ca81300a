"""Map layers of the operations screen, kept in memory (features: :mod:`.features`).

A layer is read from the twin once (``twin.query``), then kept up to date by
``Twin.on_change``: serving it is serialising a dict (cached with its gzip form and an ETag
until the next change), not querying 30,000 buildings again. A layer read from the twin is
persisted in the twin's file (:mod:`.layer_answers`); after a restart it is restored from
there, with its ETag, when no document of its types changed meanwhile.
"""

from __future__ import annotations

import gzip
import logging
import threading
import uuid
from collections.abc import Iterator

import orjson

from hyperville.store.base import DEFAULT_TENANT, EntityQuery
from hyperville.web.features import BY_ID, BY_TYPE, LAYERS, VOCAB, LayerSpec, short, to_feature
from hyperville.web.layer_answers import Answer, LayerAnswers

__all__ = ["BY_ID", "LAYERS", "Blob", "LayerCache", "LayerSpec", "short"]
log = logging.getLogger(__name__)
PAGE = 10_000
LATER_S = 3.0  # [s] after the first screen's layers, the buildings are read (unless restored)


class Stopped(Exception):
    """The server stops: the layer being read stays unloaded (and is not persisted)."""


class Blob:
    """A layer's answer: GeoJSON gzip'd, its ETag, and (``raw``) the GeoJSON itself."""

    def __init__(self, etag: str, gz: bytes, version: int, raw: bytes | None = None) -> None:
        self.etag = etag
        self.gz = gz
        self.version = version  # the layer's version it serialises
        self._raw = raw

    @property
    def raw(self) -> bytes:
        """The GeoJSON (a restored answer keeps only its gzip form until asked)."""
        if self._raw is None:
            self._raw = gzip.decompress(self.gz)
        return self._raw


def _features_of(blob: Blob) -> dict[str, dict]:
    return {f["properties"]["i"]: f for f in orjson.loads(blob.raw)["features"]}


class LayerCache:
    """Every layer of one tenant, loaded on first use and updated on each twin change."""

    def __init__(self, twin, tenant: str = DEFAULT_TENANT) -> None:
        self.twin = twin
        self.tenant = tenant
        self.nonce = uuid.uuid4().hex[:8]
        self.answers = LayerAnswers.of(twin.store)
        self.features: dict[str, dict[str, dict]] = {spec.id: {} for spec in LAYERS}
        self.version = {spec.id: 0 for spec in LAYERS}
        self.loaded: set[str] = set()
        self._loading: dict[str, list] = {}
        self._blobs: dict[str, Blob] = {}
        self._unparsed: dict[str, Blob] = {}  # restored layers: features still in their blob
        self._where: dict[str, str] = {}  # entity id -> layer id
        self.stopping = threading.Event()  # the server stops: read nothing more
        self._lock = threading.RLock()
        self._layer_locks = {spec.id: threading.Lock() for spec in LAYERS}

    # -- loading (worker threads) ----------------------------------------------------
    def ensure(self, layer: str, *, read: bool = True) -> bool:
        """Load a layer unless it is loaded: restored from its persisted answer when that is
        current, else (``read``) read from the twin and persisted. Blocking; call from a
        thread. False when the layer stays unloaded (``read`` False and nothing to restore).
        """
        if layer in self.loaded:
            return True
        with self._layer_locks[layer]:
            if layer in self.loaded:
                return True
            spec = BY_ID[layer]
            with self._lock:  # changes from now on are folded in once loaded
                self._loading[layer] = []
            stamp = self._stamp(spec)
            answer = (
                self.answers.load(self.tenant, layer, stamp) if stamp and self.answers else None
            )
            if answer is not None:
                self._install(spec, None, Blob(answer.etag, answer.gz, 0))
                log.debug("layer %s: restored", layer)
                return True
            if not read:
                with self._lock:
                    del self._loading[layer]
                return False
            features: dict[str, dict] = {}
            for entities in self._pages(spec):
                for entity in entities:
                    feature = to_feature(spec, entity)
                    if feature is not None:
                        features[entity["id"]] = feature
            as_read = self._install(spec, features, None)
            log.debug("layer %s: %d features", layer, len(features))
            blob = self._serialise(layer) if stamp and as_read else None
        if blob is not None and stamp and self.answers and not self.stopping.is_set():
            self.answers.save(self.tenant, layer, stamp, Answer(blob.etag, blob.gz))
        return True

    def _stamp(self, spec: LayerSpec) -> str | None:
        if self.answers is None:
            return None
        return self.answers.stamp(self.tenant, tuple(VOCAB + t for t in spec.types))

    def _install(self, spec: LayerSpec, features: dict | None, restored: Blob | None) -> bool:
        """Make ``features`` (else the ``restored`` answer's) the layer, then fold in the
        changes that came meanwhile; True when there were none."""
        with self._lock:
            self.version[spec.id] += 1
            if restored is not None:  # its features are parsed when first needed
                restored.version = self.version[spec.id]
                self._blobs[spec.id] = self._unparsed[spec.id] = restored
            else:
                self._set_features(spec.id, features or {})
            changes = self._loading.pop(spec.id)
            for entity_id, entity in changes:
                self._put(spec, entity_id, entity)
            if changes:
                self.version[spec.id] += 1
            self.loaded.add(spec.id)
        return not changes

    def _set_features(self, layer: str, features: dict[str, dict]) -> None:
        self.features[layer] = features
        self._where.update(dict.fromkeys(features, layer))

    def _parsed(self, layer: str) -> dict[str, dict]:
        """The layer's features, parsed from its restored answer if need be (hold the lock)."""
        blob = self._unparsed.pop(layer, None)
        if blob is not None:
            self._set_features(layer, _features_of(blob))
        return self.features[layer]

    def parse_restored(self) -> None:
        """Parse the features of the restored layers now (outside the lock: ~0.1 s for the
        buildings), rather than when a change or a search first needs them."""
        with self._lock:
            pending = list(self._unparsed.items())
        for layer, blob in pending:
            if self.stopping.is_set():
                return
            features = _features_of(blob)
            with self._lock:
                if self._unparsed.get(layer) is blob:
                    del self._unparsed[layer]
                    self._set_features(layer, features)

    def ensure_all(self, later_s: float = LATER_S) -> None:
        """Every layer: first those whose persisted answer is current (restored in ~0.1 s
        for all), then the others are read, the first screen's at once and the buildings
        ``later_s`` after (they are drawn from zoom 12 only and take a second or more of CPU
        to read: a first visitor's screen comes first). A request meanwhile loads its layer
        itself."""
        try:
            unread = [spec for spec in LAYERS if not self._try(spec.id, read=False)]
            for spec in sorted(unread, key=lambda s: s.id == "buildings"):
                if spec.id == "buildings" and self.stopping.wait(later_s):
                    return
                self._try(spec.id)
        except Stopped:
            return
        self.parse_restored()

    def _try(self, layer: str, *, read: bool = True) -> bool:
        """:meth:`ensure`, logging a failure (the layer stays unloaded)."""
        try:
            return self.ensure(layer, read=read)
        except Stopped:
            raise
        except Exception:  # noqa: BLE001 - a layer that fails stays unloaded
            log.exception("loading layer %s failed", layer)
            return False

    def _pages(self, spec: LayerSpec) -> Iterator[list[dict]]:
        types = tuple(VOCAB + t for t in spec.types)
        offset = 0
        while True:
            if self.stopping.is_set():  # the store closes next
                raise Stopped(spec.id)
            query = EntityQuery(types=types, limit=PAGE, offset=offset)
            found = self.twin.query(self.tenant, query)
            yield found.entities
            if len(found.entities) < PAGE:
                return
            offset += PAGE

    def _put(self, spec: LayerSpec, entity_id: str, entity: dict | None) -> dict | None:
        layer = self._parsed(spec.id)
        feature = to_feature(spec, entity) if entity is not None else None
        if feature is None:
            layer.pop(entity_id, None)
            self._where.pop(entity_id, None)
        else:
            layer[entity_id] = feature
            self._where[entity_id] = spec.id
        return feature

    # -- changes (event loop) ------------------------------------------------------------
    def apply(self, tenant: str, entity_id: str, entity: dict | None):
        """Fold one change in; the (layer spec, feature or None) it touched, else None."""
        if tenant != self.tenant:
            return None
        spec = None
        if entity is not None:
            spec = next((BY_TYPE[t] for t in entity.get("type", ()) if t in BY_TYPE), None)
        if spec is None:  # deleted, or of no layer's type (now): the layer that holds it
            if self._unparsed:
                with self._lock:
                    for pending in list(self._unparsed):
                        self._parsed(pending)
            layer = self._where.get(entity_id)
            if layer is None:
                return None
            spec = BY_ID[layer]
        with self._lock:
            if spec.id in self._loading:
                self._loading[spec.id].append((entity_id, entity))
            if spec.id not in self.loaded:
                return spec, to_feature(spec, entity) if entity is not None else None
            feature = self._put(spec, entity_id, entity)
            self.version[spec.id] += 1
        return spec, feature

    # -- serving -----------------------------------------------------------------------
    def blob(self, layer: str) -> Blob:
        """The layer as GeoJSON bytes, gzipped and with its ETag (blocking)."""
        self.ensure(layer)
        with self._layer_locks[layer]:
            return self._serialise(layer)

    def _serialise(self, layer: str) -> Blob:
        """The layer's blob, made again if the layer changed (hold its layer lock)."""
        with self._lock:
            version = self.version[layer]
            cached = self._blobs.get(layer)
            if cached is not None and cached.version == version:
                return cached
            features = list(self._parsed(layer).values())
        raw = orjson.dumps({"type": "FeatureCollection", "features": features})
        blob = Blob(self.etag(layer, version), gzip.compress(raw, 5), version, raw)
        self._blobs[layer] = blob
        return blob

    def etag(self, layer: str, version: int | None = None) -> str:
        """The ETag of the layer's ``version`` (now by default): a screen compares it with
        the one it read, once its live stream is connected. A restored answer keeps the ETag
        it was served with before the restart."""
        version = self.version[layer] if version is None else version
        cached = self._blobs.get(layer)
        if cached is not None and cached.version == version:
            return cached.etag
        return f'"{self.nonce}-{layer}-{version}"'

    def snapshot(self, layer: str) -> list[dict]:
        self.ensure(layer)
        with self._lock:
            return list(self._parsed(layer).values())
