"""Pattern models of the simulated sensors: pure functions of (device, time, seed).

Every value is a deterministic function of the seed, the device and the instant, never of
what was sent before, so a backfill and a live run draw the same curves and a restart
continues them. Times are epoch seconds (UTC); the daily and weekly rhythms follow the
civil time of the territory (Europe/Paris). Randomness is *value noise*: pseudo-random
values (a hash of seed, device and knot index) at regular knots, smoothly interpolated.

Units (the payload fields are the NGSI-LD attribute names; see :data:`FIELDS`):

- car parks: ``occupiedSpotNumber``/``availableSpotNumber`` in spots, ``occupancy`` the
  occupied share (0–1);
- traffic counters: ``intensity`` in vehicles/h (both directions), ``averageVehicleSpeed`` in
  km/h, ``occupancy`` the share of time a loop is occupied (0–1);
- streetlights: ``powerState`` ``on``/``off``, ``illuminanceLevel`` the dimming level (0–1),
  ``powerConsumption`` in W; cabinets: ``totalActivePower`` in kW, ``energyConsumed`` in kWh
  since local midnight;
- waste containers: ``fillingLevel`` (0–1), ``temperature`` in °C;
- recycling centres: ``vehicleEntranceCount``, vehicles in the last hour;
- weather: ``temperature`` °C, ``relativeHumidity`` (0–1), ``windSpeed`` m/s,
  ``windDirection`` degrees (where the wind comes from), ``atmosphericPressure`` hPa,
  ``precipitation`` mm in the last 10 minutes, ``solarRadiation`` W/m²;
- air quality: ``no2``, ``pm10``, ``pm25``, ``o3``, ``so2`` in µg/m³.
"""

from __future__ import annotations

import hashlib
import math
import struct
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .solar import solar_elevation, sun_times

TZ = ZoneInfo("Europe/Paris")
BOLBEC = (49.57, 0.47)  # lat, lon (degrees): the sun is computed there for the whole territory
LIGHTS_ON_ELEVATION = -2.0  # degrees: photocells switch about 10-15 min after sunset
DIM_FROM, DIM_TO, DIM_LEVEL = 23.0, 5.0, 0.5  # local hours, dimming level at night
COLLECTION_HOUR = 9.0  # local hour a container is emptied on its collection day
FILL_PER_DAY = {"glass": 0.055, "packaging": 0.11, "paper": 0.075}  # share of the volume/day
WEEKDAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

# payload field -> (type, UN/CEFACT unit code or None)
FIELDS: dict[str, tuple[str, str | None]] = {
    "availableSpotNumber": ("number", None),
    "occupiedSpotNumber": ("number", None),
    "occupancy": ("number", "C62"),
    "intensity": ("number", None),
    "averageVehicleSpeed": ("number", "KMH"),
    "powerState": ("string", None),
    "totalActivePower": ("number", "KWT"),
    "energyConsumed": ("number", "KWH"),
    "powerConsumption": ("number", "WTT"),
    "illuminanceLevel": ("number", "C62"),
    "fillingLevel": ("number", "C62"),
    "temperature": ("number", "CEL"),
    "vehicleEntranceCount": ("number", None),
    "relativeHumidity": ("number", "C62"),
    "windSpeed": ("number", "MTS"),
    "windDirection": ("number", "DD"),
    "atmosphericPressure": ("number", "A97"),
    "precipitation": ("number", "MMT"),
    "solarRadiation": ("number", "D54"),
    "no2": ("number", "GQ"),
    "pm10": ("number", "GQ"),
    "pm25": ("number", "GQ"),
    "o3": ("number", "GQ"),
    "so2": ("number", "GQ"),
}


# -- deterministic noise ----------------------------------------------------------------------
def uniform(seed: int, *key: object) -> float:
    """A pseudo-random number in [0, 1) fixed by the seed and the key."""
    raw = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return struct.unpack("<Q", raw)[0] / 2**64


def noise(seed: int, key: str, t: float, period_s: float) -> float:
    """Smooth value noise in [-1, 1]: random knots every ``period_s``, smoothstep between."""
    x = t / period_s
    k = math.floor(x)
    f = x - k
    f = f * f * (3 - 2 * f)
    a, b = uniform(seed, key, period_s, k), uniform(seed, key, period_s, k + 1)
    return 2 * (a + (b - a) * f) - 1


def local(t: float) -> datetime:
    return datetime.fromtimestamp(t, TZ)


def local_hour(moment: datetime) -> float:
    return moment.hour + moment.minute / 60 + moment.second / 3600


def _ramp(x: float, start: float, end: float) -> float:
    """0 before start, 1 after end, smooth in between."""
    if x <= start:
        return 0.0
    if x >= end:
        return 1.0
    f = (x - start) / (end - start)
    return f * f * (3 - 2 * f)


def _bump(x: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((x - centre) / width) ** 2)


# -- car parks --------------------------------------------------------------------------------
MORNING_TRAINS = (6.75, 7.25, 7.6, 8.1, 8.45)  # local hours the commuter trains leave
EVENING_TRAINS = (17.2, 17.7, 18.2, 18.75, 19.3)  # and come back


def station_parking_share(t: float, key: str, seed: int, carpool: bool = False) -> float:
    """Occupied share (0-1) of a car park: near a station it fills in steps in the quarter
    hour before each morning train (6:30-8:30) and empties after each evening train
    (17:00-19:30) on weekdays; carpool areas follow the same commute, less sharply;
    weekends stay low."""
    moment = local(t)
    h = local_hour(moment)
    day = moment.date().toordinal()
    night = 0.04 + 0.04 * uniform(seed, key, "night")
    if moment.weekday() >= 5:
        weekend = 0.08 + 0.1 * _bump(h, 14.0, 3.0) * (1 + 0.3 * noise(seed, key, t, 3 * 3600))
        return min(1.0, night + weekend)
    peak = (0.6 if carpool else 0.86) + 0.1 * uniform(seed, key, "day", day)
    if carpool:
        filled = _ramp(h, 6.5, 8.5)
        left = _ramp(h, 16.5, 19.0)
    else:
        filled = sum(_ramp(h, tr - 0.3, tr) for tr in MORNING_TRAINS) / len(MORNING_TRAINS)
        left = sum(_ramp(h, tr, tr + 0.2) for tr in EVENING_TRAINS) / len(EVENING_TRAINS)
    midday = 0.03 * _bump(h, 12.5, 1.5)
    share = night + (peak - night) * filled * (1 - 0.9 * left) + midday
    return max(0.0, min(1.0, share + 0.015 * noise(seed, key, t, 1800)))


def parking_values(t: float, key: str, seed: int, capacity: float, carpool: bool) -> dict:
    spots = max(1, int(capacity or 50))
    occupied = round(spots * station_parking_share(t, key, seed, carpool))
    return {
        "occupiedSpotNumber": occupied,
        "availableSpotNumber": spots - occupied,
        "occupancy": round(occupied / spots, 3),
    }


# -- traffic ----------------------------------------------------------------------------------
def traffic_profile(moment: datetime) -> float:
    """Share of the daily traffic per hour (sums to ~1 over a weekday): morning peak around
    8:00, evening peak around 17:30; weekends lower, with one early-afternoon hump."""
    h = local_hour(moment)
    base = 0.004 + 0.05 * _ramp(h, 5.0, 7.0) * (1 - _ramp(h, 20.5, 23.5))
    if moment.weekday() < 5:
        return base + 0.045 * _bump(h, 8.0, 0.9) + 0.05 * _bump(h, 17.5, 1.1)
    factor = 0.8 if moment.weekday() == 5 else 0.6
    return factor * (base + 0.03 * _bump(h, 15.0, 2.5))


def traffic_values(t: float, key: str, seed: int, aadt: float) -> dict:
    moment = local(t)
    aadt = float(aadt or 5000)
    flow = aadt * traffic_profile(moment) * (1 + 0.08 * noise(seed, key, t, 3600))
    peak = aadt * 0.095
    free = 70 + 20 * uniform(seed, key, "free")  # km/h on a departmental road
    speed = free * (1 - 0.35 * min(1.0, flow / peak) ** 2)
    occupancy = min(0.95, flow / speed / 2 * 0.0065)  # 2 lanes, ~6.5 m per vehicle and loop
    return {
        "intensity": round(max(0.0, flow)),
        "averageVehicleSpeed": round(speed, 1),
        "occupancy": round(occupancy, 4),
    }


# -- lighting ---------------------------------------------------------------------------------
def lighting_level(t: float) -> float:
    """Streetlight level: 0 while the sun is above -2°, 1 when lit, 0.5 from 23:00 to 5:00."""
    if solar_elevation(*BOLBEC, t) > LIGHTS_ON_ELEVATION:
        return 0.0
    h = local_hour(local(t))
    return DIM_LEVEL if (h >= DIM_FROM or h < DIM_TO) else 1.0


def lighting_changes(start: float, end: float, step_s: float = 600.0) -> list[float]:
    """The instants in [start, end] where :func:`lighting_level` changes (to the second),
    found on a ``step_s`` grid then by bisection; the same for every light of the territory."""
    out = []
    t, level = start, lighting_level(start)
    while t < end:
        nxt = min(t + step_s, end)
        new = lighting_level(nxt)
        if new != level:
            lo, hi = t, nxt
            while hi - lo > 1.0:
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if lighting_level(mid) == level else (lo, mid)
            out.append(float(math.ceil(hi)))
            level = new
        t = nxt
    return out


def _energy_hours_today(t: float) -> float:
    """Full-power-equivalent lit hours since local midnight (dimmed hours count half)."""
    moment = local(t)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    day = moment.date()
    rise, sets = sun_times(*BOLBEC, day, LIGHTS_ON_ELEVATION)
    if rise is None or sets is None:
        return 0.0
    off = (rise.astimezone(TZ) - midnight) / timedelta(hours=1)
    on = (sets.astimezone(TZ) - midnight) / timedelta(hours=1)
    h = local_hour(moment)

    def overlap(a: float, b: float) -> float:
        return max(0.0, min(b, h) - a)

    lit = overlap(0, off) + overlap(on, 24)
    dimmed = overlap(0, min(off, DIM_TO)) + overlap(max(on, DIM_FROM), 24)
    return lit - (1 - DIM_LEVEL) * dimmed


def light_values(t: float, power_w: float | None) -> dict:
    level = lighting_level(t)
    watts = float(power_w or 40.0)
    return {
        "powerState": "on" if level else "off",
        "illuminanceLevel": level,
        "powerConsumption": round(watts * 1.08 * level, 1),  # driver losses ~8 %
    }


def cabinet_values(t: float, load_kw: float) -> dict:
    level = lighting_level(t)
    return {
        "powerState": "on" if level else "off",
        "totalActivePower": round(load_kw * level, 3),
        "energyConsumed": round(load_kw * _energy_hours_today(t), 3),
    }


# -- waste ------------------------------------------------------------------------------------
def last_collection(t: float, weekday: int, key: str, seed: int) -> datetime:
    """The most recent emptying (local time) of a container collected on ``weekday``."""
    moment = local(t)
    hour = COLLECTION_HOUR + 4 * uniform(seed, key, "round")  # the truck's round: 9:00-13:00
    days_back = (moment.weekday() - weekday) % 7
    day = moment.date() - timedelta(days=days_back)
    when = datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(hours=hour)
    if when > moment:
        when -= timedelta(days=7)
    return when


def fill_level(t: float, key: str, seed: int, waste: str, weekday: int) -> float:
    """Filling share (0-1): grows by ``FILL_PER_DAY[waste]`` (±30 % per container and week),
    mostly by day, and drops to a small residue when emptied on the collection day."""
    emptied = last_collection(t, weekday, key, seed)
    elapsed = (local(t) - emptied) / timedelta(days=1)
    week = emptied.date().toordinal()
    rate = FILL_PER_DAY.get(waste, 0.08) * (0.7 + 0.6 * uniform(seed, key, "week", week))
    daytime = elapsed + 0.12 * math.sin(2 * math.pi * (elapsed - 0.3))  # deposits by day
    residue = 0.02 + 0.03 * uniform(seed, key, "residue", week)
    return max(0.0, min(1.0, residue + rate * max(0.0, daytime)))


def container_values(t: float, key: str, seed: int, waste: str, weekday: int) -> dict:
    return {
        "fillingLevel": round(fill_level(t, key, seed, waste, weekday), 3),
        "temperature": round(air_temperature(t, seed) + 1.5 + 0.5 * noise(seed, key, t, 7200), 1),
    }


# -- recycling centres ------------------------------------------------------------------------
def recycling_visitors_per_hour(t: float, key: str, seed: int) -> int:
    """Vehicles that came in during the last hour. Open Monday-Saturday 9:00-12:00 and
    14:00-18:00 (Saturday 9:00-18:00), closed on Sunday; Saturday is the busiest day."""
    moment = local(t)
    h = local_hour(moment) - 0.5  # the middle of the last hour
    wd = moment.weekday()
    if wd == 6:
        return 0
    open_now = 9 <= h < 18 if wd == 5 else (9 <= h < 12 or 14 <= h < 18)
    if not open_now:
        return 0
    base = 38.0 if wd == 5 else (14.0 if wd in (0, 2) else 10.0)
    shape = 0.7 + 0.5 * _bump(h, 11.0, 1.5) + 0.4 * _bump(h, 16.0, 1.5)
    size = 0.6 + 0.8 * uniform(seed, key, "size")
    rate = base * shape * size * (1 + 0.25 * noise(seed, key, t, 3600))
    return max(0, round(rate))


# -- weather ----------------------------------------------------------------------------------
def air_temperature(t: float, seed: int) -> float:
    """°C: seasonal mean (5.5 °C in January, 18 °C in July), a daily cycle (±4 °C, coolest
    near dawn, warmest mid-afternoon) and weather systems of a few days (±3 °C)."""
    moment = local(t)
    doy = moment.timetuple().tm_yday
    season = 11.75 - 6.25 * math.cos(2 * math.pi * (doy - 20) / 365.25)
    daily = -4.0 * math.cos(2 * math.pi * (local_hour(moment) - 3.5) / 24)
    return season + daily + 3.0 * noise(seed, "synoptic", t, 2.5 * 86400)


def weather_values(t: float, seed: int) -> dict:
    temp = air_temperature(t, seed)
    moment = local(t)
    daily = math.cos(2 * math.pi * (local_hour(moment) - 3.5) / 24)
    humidity = 0.78 + 0.12 * daily + 0.08 * noise(seed, "humid", t, 86400)
    # wind: a slow random walk (value noise over 12 h and 3 h) around the prevailing south-west
    speed = 5.5 * (1 + 0.55 * noise(seed, "wind", t, 12 * 3600)) + 1.2 * noise(
        seed, "gust", t, 1800
    )
    speed *= 1 + 0.2 * _bump(local_hour(moment), 15, 3)
    direction = 240 + 80 * noise(seed, "dir", t, 18 * 3600) + 25 * noise(seed, "dir2", t, 3 * 3600)
    pressure = 1015 + 12 * noise(seed, "pressure", t, 3 * 86400)
    wet = noise(seed, "rain", t, 6 * 3600)
    rain = max(0.0, wet - 0.35) * 2.5 * (1 + 0.5 * noise(seed, "shower", t, 1200))
    elevation = solar_elevation(*BOLBEC, t)
    cloud = 0.55 + 0.45 * max(0.0, -wet)
    sun = 1000 * max(0.0, math.sin(math.radians(elevation))) ** 1.2 * cloud
    return {
        "temperature": round(temp, 1),
        "relativeHumidity": round(max(0.3, min(1.0, humidity + 0.1 * max(0.0, wet))), 2),
        "windSpeed": round(max(0.0, speed), 1),
        "windDirection": round(direction % 360),
        "atmosphericPressure": round(pressure, 1),
        "precipitation": round(max(0.0, rain), 1),
        "solarRadiation": round(sun),
    }


# -- air quality ------------------------------------------------------------------------------
def air_quality_values(t: float, key: str, seed: int, industrial: bool, names) -> dict:
    """µg/m³. NO2 follows the traffic peaks; O3 builds up in the afternoon sun; PM10 and
    PM2.5 drift with the weather; SO2 only near the refineries. The Port-Jérôme industrial
    station (``industrial``) reads about 1.5 times higher NO2 and PM."""
    moment = local(t)
    wind = weather_values(t, seed)["windSpeed"]
    dispersion = 1.4 / (1 + 0.12 * wind)  # calm air keeps pollution in
    factor = 1.5 if industrial else 1.0
    traffic = traffic_profile(moment) / 0.06
    no2 = (12 + 22 * traffic) * dispersion * factor * (1 + 0.15 * noise(seed, key, t, 5400))
    pm10 = (14 + 6 * noise(seed, "pm", t, 86400) + 3 * traffic) * dispersion * factor
    pm10 *= 1 + 0.1 * noise(seed, key + "pm", t, 3600)
    sun = max(0.0, math.sin(math.radians(solar_elevation(*BOLBEC, t))))
    o3 = 35 + 45 * sun**1.5 * (1 + 0.2 * noise(seed, "o3", t, 86400)) - 0.3 * no2
    plume = max(0.0, noise(seed, key + "so2", t, 4 * 3600))
    so2 = 2 + 18 * plume**2 if industrial else 1.0
    values = {"no2": no2, "pm10": pm10, "pm25": 0.62 * pm10, "o3": max(2.0, o3), "so2": so2}
    return {n: round(values[n], 1) for n in names if n in values}
