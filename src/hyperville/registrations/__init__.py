"""NGSI-LD context source registrations and their subscriptions, as a registry (ETSI GS CIM
009 v1.8, clauses 5.2.9–5.2.10, 5.9–5.11): hyperville stores and serves registrations so that
other brokers and clients can discover context sources; it does not forward requests to
them (no distributed operations).

- :mod:`.model` — the registration document: validation, PATCH fragments, display.
- :mod:`.matching` — registrations compiled for matching; the filters of queries and of
  csource subscriptions (entities, attributes, ``q``/``csf``, geo and temporal queries).
- :mod:`.csource_model` — the csource subscription document and what it selects.
- :mod:`.notifier` — ContextSourceNotification bodies and their delivery.
- :mod:`.service` — the registry of every tenant: store, memory index, CRUD, queries.
"""
