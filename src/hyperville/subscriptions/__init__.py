"""NGSI-LD subscriptions and notifications (ETSI GS CIM 009 v1.8, clauses 5.2.12, 5.8, 5.11).

- :mod:`.model` — the subscription document: validation, PATCH fragments, how it is stored
  and shown to a requester.
- :mod:`.matching` — a subscription compiled for matching twin changes (entity selectors,
  watched attributes, triggers, ``q``, ``geoQ``, ``scopeQ``).
- :mod:`.delivery` — notification bodies and HTTP delivery, with the allowed-hosts check.
- :mod:`.mqtt_target` — MQTT endpoints (``mqtt://``, ``mqtts://``, ``notifierInfo``): checks,
  and the URI shown without its password.
- :mod:`.mqtt_publish` — MQTT delivery over one connection per broker.
- :mod:`.notifier` — the change listener, the bounded queue and the delivery worker.
- :mod:`.service` — the subscriptions of every tenant: store, memory index, CRUD.
"""
