"""Air-quality thresholds of French regulation, to colour the stations and raise alarms.

Information-and-recommendation and alert thresholds, µg/m³, from the Code de l'environnement,
article R221-1 (transposing directive 2008/50/EC): NO2 200 / 400 (hourly mean), O3 180 / 240
(hourly mean), SO2 300 / 500 (hourly mean), PM10 50 / 80 (daily mean). PM2.5 has no such
threshold in France. The screen compares the latest reading of each pollutant, so for PM10 it
warns early (a daily mean above 50 is only known at the end of the day), and the alert
threshold's "three consecutive hours" for NO2 and SO2 is not waited for.
"""

from __future__ import annotations

INFORMATION = {"no2": 200.0, "o3": 180.0, "so2": 300.0, "pm10": 50.0}
"""[µg/m³] seuil d'information et de recommandation."""
ALERT = {"no2": 400.0, "o3": 240.0, "so2": 500.0, "pm10": 80.0}
"""[µg/m³] seuil d'alerte."""
MICROGRAMS_PER_M3 = "GQ"  # UN/CEFACT code of µg/m³


def level(readings: dict[str, tuple[float, str | None]]) -> tuple[str, str | None, float | None]:
    """The worst level of a station: ``(level, pollutant, value µg/m³)``.

    ``readings`` maps a pollutant to ``(value, unitCode)``; a reading in another unit than
    µg/m³ is not compared. The level is ``alert``, ``info``, ``ok`` (readings, none above a
    threshold) or ``unknown`` (no comparable reading).

    >>> level({"no2": (250.0, "GQ"), "pm10": (20.0, None)})
    ('info', 'no2', 250.0)
    >>> level({"o3": (90.0, None)})
    ('ok', None, None)
    """
    worst, pollutant, value, compared = 0, None, None, False
    for name, (reading, unit) in readings.items():
        if name not in INFORMATION or unit not in (None, MICROGRAMS_PER_M3):
            continue
        compared = True
        rank = 2 if reading >= ALERT[name] else 1 if reading >= INFORMATION[name] else 0
        ratio = reading / INFORMATION[name]
        if rank > worst or (rank == worst and rank and ratio > value / INFORMATION[pollutant]):
            worst, pollutant, value = rank, name, reading
    if not compared:
        return "unknown", None, None
    return ("ok", "info", "alert")[worst], pollutant, value
