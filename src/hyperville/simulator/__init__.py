"""The sensor simulator: believable readings for the demo territory's devices.

``patterns`` holds the models (pure functions of seed, device and time), ``solar`` the sun
position, ``devices`` reads ``sensors.csv``, ``runner`` sends through the real ingestion
paths (HTTP, MQTT) and ``local`` does the demo's first backfill in-process.
See docs/simulator.md.
"""

from .devices import SimDevice, load_devices, values

__all__ = ["SimDevice", "load_devices", "values"]
