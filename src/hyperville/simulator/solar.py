"""The sun's position and its rise and set times: NOAA's solar calculator equations.

The equations are those of the NOAA Global Monitoring Laboratory solar calculator
(https://gml.noaa.gov/grad/solcalc/, "NOAA_Solar_Calculations_day.xls", after Jean Meeus,
*Astronomical Algorithms*): about a minute of accuracy for rise and set times between 1800
and 2100 at latitudes under ±72°, which is more than a streetlight photocell needs.

Angles are in degrees, longitudes positive east, times in UTC.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

RISE_SET_ELEVATION = -0.833  # degrees: refraction (34') plus the sun's radius (16')
_J2000 = 2451545.0
_UNIX_EPOCH_JD = 2440587.5


def _julian_day(t: float) -> float:
    return _UNIX_EPOCH_JD + t / 86400.0


def _sun(t: float) -> tuple[float, float]:
    """(declination in degrees, equation of time in minutes) at epoch seconds ``t``."""
    jc = (_julian_day(t) - _J2000) / 36525.0
    l0 = (280.46646 + jc * (36000.76983 + jc * 0.0003032)) % 360.0
    m = 357.52911 + jc * (35999.05029 - 0.0001537 * jc)
    e = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc)
    mr = math.radians(m)
    c = (
        math.sin(mr) * (1.914602 - jc * (0.004817 + 0.000014 * jc))
        + math.sin(2 * mr) * (0.019993 - 0.000101 * jc)
        + math.sin(3 * mr) * 0.000289
    )
    omega = math.radians(125.04 - 1934.136 * jc)
    apparent = math.radians(l0 + c - 0.00569 - 0.00478 * math.sin(omega))
    mean_obliquity = 23 + (26 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60) / 60
    obliquity = math.radians(mean_obliquity + 0.00256 * math.cos(omega))
    declination = math.degrees(math.asin(math.sin(obliquity) * math.sin(apparent)))
    y = math.tan(obliquity / 2) ** 2
    l0r = math.radians(l0)
    eot = 4 * math.degrees(
        y * math.sin(2 * l0r)
        - 2 * e * math.sin(mr)
        + 4 * e * y * math.sin(mr) * math.cos(2 * l0r)
        - 0.5 * y * y * math.sin(4 * l0r)
        - 1.25 * e * e * math.sin(2 * mr)
    )
    return declination, eot


def solar_elevation(lat: float, lon: float, t: float) -> float:
    """Geometric elevation of the sun's centre above the horizon, in degrees, at epoch ``t``
    (no refraction: subtract nothing, compare with -0.833° for the visible rise/set)."""
    declination, eot = _sun(t)
    minutes = (t % 86400.0) / 60.0
    true_solar = (minutes + eot + 4 * lon) % 1440.0
    hour_angle = math.radians(true_solar / 4 - 180)
    la, de = math.radians(lat), math.radians(declination)
    cos_zenith = math.sin(la) * math.sin(de) + math.cos(la) * math.cos(de) * math.cos(hour_angle)
    return 90.0 - math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))


def _event(lat: float, lon: float, noon_t: float, elevation: float, sign: int) -> float | None:
    t = noon_t
    for _ in range(2):  # evaluate the sun again at the first estimate of the event
        declination, eot = _sun(t)
        la, de = math.radians(lat), math.radians(declination)
        cos_ha = (math.sin(math.radians(elevation)) - math.sin(la) * math.sin(de)) / (
            math.cos(la) * math.cos(de)
        )
        if not -1.0 <= cos_ha <= 1.0:
            return None  # polar day or night
        ha = math.degrees(math.acos(cos_ha))
        day0 = noon_t - noon_t % 86400.0
        t = day0 + 60.0 * (720 - 4 * lon - eot + sign * 4 * ha)
    return t


def sun_times(
    lat: float, lon: float, day: date, elevation: float = RISE_SET_ELEVATION
) -> tuple[datetime | None, datetime | None]:
    """(rise, set) in UTC on the UTC calendar ``day`` when the sun's centre crosses
    ``elevation`` degrees; the default gives the almanac's sunrise and sunset."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()
    rise = _event(lat, lon, noon, elevation, -1)
    sets = _event(lat, lon, noon, elevation, +1)

    def when(t: float | None) -> datetime | None:
        return None if t is None else datetime.fromtimestamp(t, UTC)

    return when(rise), when(sets)


def daylight_hours(lat: float, lon: float, day: date, elevation: float) -> float:
    """Hours between the two crossings of ``elevation`` on ``day`` (0 or 24 when none)."""
    rise, sets = sun_times(lat, lon, day, elevation)
    if rise is None or sets is None:
        return 24.0 if solar_elevation(lat, lon, _noon(day)) > elevation else 0.0
    return (sets - rise) / timedelta(hours=1)


def _noon(day: date) -> float:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()
