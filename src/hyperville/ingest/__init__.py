"""Sensor ingestion: devices, payload mapping, and the pipeline that feeds the twin.

decode (HTTP, MQTT, LoRaWAN network servers) → validate → map (the device's allow-list) →
batch (a bounded queue) → twin (one store transaction per batch, acknowledged after COMMIT).
"""
