"""The pattern models against oracles: an almanac's sunrise, and the daily/weekly rhythms."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from hyperville.simulator import patterns as pt
from hyperville.simulator.devices import SimDevice, values
from hyperville.simulator.solar import solar_elevation, sun_times

PARIS = ZoneInfo("Europe/Paris")
SEED = 76


def at(y, mo, d, h, mi=0) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=PARIS).timestamp()


def test_sunrise_at_bolbec_matches_a_published_almanac():
    # Astronomy Answers, "The Position of the Sun: Tables", Table 1 (times of sunrise in
    # 2002, local mean time): 01-01 at +48° 7:50, at +50° 7:59
    # (https://aa.quae.nl/en/antwoorden/zonpositie-tabel.html). Interpolated to 49.57° N:
    # 7:57.1 local mean time; Bolbec is 0.47° E, so 1.9 min earlier in UTC: 7:55.2 UTC.
    rise, _ = sun_times(49.57, 0.47, date(2002, 1, 1))
    expected = datetime(2002, 1, 1, 7, 55, 12, tzinfo=UTC)
    assert abs((rise - expected).total_seconds()) < 3 * 60


def test_sun_times_are_consistent_with_the_elevation():
    rise, sets = sun_times(49.57, 0.47, date(2024, 6, 21))
    assert abs(solar_elevation(49.57, 0.47, rise.timestamp()) + 0.833) < 0.05
    assert abs(solar_elevation(49.57, 0.47, sets.timestamp()) + 0.833) < 0.05
    # near the solstice, the day at ~49.6° N lasts about 16 h 15 min
    assert 16.0 < (sets - rise).total_seconds() / 3600 < 16.5
    assert solar_elevation(49.57, 0.47, at(2024, 6, 21, 13, 50)) > 60


def test_station_car_park_fills_on_weekday_mornings_only():
    tue = pt.station_parking_share(at(2024, 3, 12, 10), "park-1", SEED)
    sun = pt.station_parking_share(at(2024, 3, 10, 10), "park-1", SEED)
    early = pt.station_parking_share(at(2024, 3, 12, 5), "park-1", SEED)
    evening = pt.station_parking_share(at(2024, 3, 12, 21), "park-1", SEED)
    assert tue > 0.8 and sun < 0.35 and early < 0.15 and evening < 0.2
    # it fills in steps around the trains: between 6:30 and 8:30
    steps = [
        pt.station_parking_share(at(2024, 3, 12, h, m), "park-1", SEED)
        for h, m in ((6, 30), (7, 20))
    ]
    assert steps[0] < steps[1] < tue


def test_car_park_values_are_consistent():
    attrs = ("availableSpotNumber", "occupiedSpotNumber", "occupancy")
    device = SimDevice("p", "urn:x:P", "OffStreetParking", "station_parking", attrs, 300, 120)
    v = values(device, at(2024, 3, 12, 10), SEED)
    assert v["availableSpotNumber"] + v["occupiedSpotNumber"] == 120
    assert v["occupancy"] == pytest.approx(v["occupiedSpotNumber"] / 120, abs=0.001)


def test_traffic_has_morning_and_evening_peaks():
    flow = {h: pt.traffic_values(at(2024, 3, 12, h), "c", SEED, 10000)["intensity"]
            for h in (3, 8, 12, 17)}  # fmt: skip
    assert flow[8] > 1.5 * flow[12] and flow[17] > 1.5 * flow[12] and flow[3] < flow[12] / 3
    sunday_8 = pt.traffic_values(at(2024, 3, 10, 8), "c", SEED, 10000)["intensity"]
    assert sunday_8 < flow[8] / 2
    daily = sum(pt.traffic_values(at(2024, 3, 12, h, 30), "c", SEED, 10000)["intensity"]
                for h in range(24))  # fmt: skip
    assert 8500 < daily < 12000  # a weekday carries about the AADT


def test_streetlights_follow_dusk_dawn_and_dim_at_night():
    day = date(2024, 3, 12)
    rise, sets = sun_times(*pt.BOLBEC, day, pt.LIGHTS_ON_ELEVATION)
    assert pt.lighting_level(sets.timestamp() - 120) == 0
    assert pt.lighting_level(sets.timestamp() + 120) == 1.0
    assert pt.lighting_level(at(2024, 3, 12, 2)) == 0.5  # dimmed 23:00-5:00
    assert pt.lighting_level(at(2024, 3, 12, 13)) == 0
    # the switch-on time is the almanac sunset plus a few minutes
    _, almanac_set = sun_times(*pt.BOLBEC, day)
    assert 5 * 60 < (sets - almanac_set).total_seconds() < 20 * 60
    v = pt.light_values(at(2024, 3, 12, 21), 60)
    assert v["powerState"] == "on" and v["powerConsumption"] > 60
    changes = pt.lighting_changes(at(2024, 3, 12, 12), at(2024, 3, 13, 12))
    assert len(changes) == 4  # on at dusk, dimmed at 23:00, back to full at 5:00, off at dawn
    assert abs(changes[0] - sets.timestamp()) < 2


def test_cabinet_energy_grows_through_the_night():
    e1 = pt.cabinet_values(at(2024, 3, 12, 3), 5.0)["energyConsumed"]
    e2 = pt.cabinet_values(at(2024, 3, 12, 12), 5.0)["energyConsumed"]
    assert 0 < e1 < e2 <= 5.0 * 12


def test_containers_fill_then_reset_on_collection_day():
    tuesday = 1
    before = pt.fill_level(at(2024, 3, 12, 8), "w1", SEED, "packaging", tuesday)
    after = pt.fill_level(at(2024, 3, 12, 14), "w1", SEED, "packaging", tuesday)
    saturday = pt.fill_level(at(2024, 3, 16, 12), "w1", SEED, "packaging", tuesday)
    monday = pt.fill_level(at(2024, 3, 18, 20), "w1", SEED, "packaging", tuesday)
    assert before > 0.4 and after < 0.1  # emptied between 9:00 and 13:00
    assert after < saturday < monday
    glass = pt.fill_level(at(2024, 3, 18, 20), "w1", SEED, "glass", tuesday)
    assert glass < monday  # glass fills more slowly than packaging


def test_recycling_centres_are_busiest_on_saturday():
    def day_total(d: int) -> int:
        return sum(pt.recycling_visitors_per_hour(at(2024, 3, d, h), "g", SEED)
                   for h in range(24))  # fmt: skip

    week = {d: day_total(d) for d in range(11, 18)}  # Monday 11 to Sunday 17 March 2024
    assert max(week, key=week.get) == 16  # Saturday
    assert week[17] == 0  # closed on Sunday
    assert pt.recycling_visitors_per_hour(at(2024, 3, 12, 13, 30), "g", SEED) == 0  # lunch


def test_weather_and_air_quality_are_plausible():
    noon = pt.weather_values(at(2024, 7, 10, 15), SEED)
    night = pt.weather_values(at(2024, 7, 10, 4), SEED)
    assert noon["temperature"] > night["temperature"]
    assert noon["solarRadiation"] > 100 and night["solarRadiation"] == 0
    assert 0 <= noon["windDirection"] < 360 and noon["windSpeed"] >= 0
    names = ("no2", "pm10", "pm25", "so2")
    t = at(2024, 3, 12, 8)
    industrial = pt.air_quality_values(t, "aq", SEED, True, names)
    urban = pt.air_quality_values(t, "aq", SEED, False, names)
    assert industrial["no2"] > urban["no2"] and industrial["pm10"] > urban["pm10"]
    o3 = [pt.air_quality_values(at(2024, 7, 10, h), "aq", SEED, False, ("o3",))["o3"]
          for h in (6, 16)]  # fmt: skip
    assert o3[1] > o3[0]  # ozone builds up in the afternoon


def test_values_are_deterministic_and_depend_on_the_seed():
    device = SimDevice("meteo", "urn:x:W", "WeatherObserved", "weather",
                       ("temperature", "windSpeed"), 600)  # fmt: skip
    t = at(2024, 3, 12, 10, 7)
    assert values(device, t, 1) == values(device, t, 1)
    assert values(device, t, 1) != values(device, t, 2)


def test_backfilled_streetlights_end_with_their_current_state():
    """Without a report at the end of the backfill, every light looks silent since dusk."""
    from hyperville.simulator.runner import backfill_instants

    class Light:
        kind = "telemanaged_light"

    class Counter:
        kind = "traffic_counter"

    end = at(2024, 3, 13, 22)
    times = [end - 3600 * k for k in range(48, -1, -1)]
    light = backfill_instants(Light(), times, end)
    assert light[-1] == end and light[0] == times[0]
    assert len(light) < len(times)  # switches only, not hourly samples
    assert backfill_instants(Counter(), times, end) == times
    later = end + 37 * 60  # off the hourly grid: every device reports its state at the end
    assert backfill_instants(Counter(), times, later) == [*times, later]
    assert backfill_instants(Light(), times, later)[-1] == later
