"""HTTP ingestion end to end (TestClient over a real SQLite twin)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import orjson
from conftest import WEBHOOK_TOKEN, entity, make_client, provision

READINGS = "/ingest/v1/devices/{}/readings"


def post(client, tenant, token, body, device="th-1", **headers):
    headers = {"Authorization": f"Bearer {token}", "NGSILD-Tenant": tenant, **headers}
    if isinstance(body, bytes):
        return client.post(READINGS.format(device), content=body, headers=headers)
    return client.post(READINGS.format(device), json=body, headers=headers)


def dead_letters(client) -> list[dict]:
    return client.get("/api/v1/deadletters").json()


def test_provision_then_single_and_batch_readings(api, tenant) -> None:
    token = provision(api, tenant)
    listed = api.get("/api/v1/devices", headers={"NGSILD-Tenant": tenant}).json()
    assert [d["deviceId"] for d in listed] == ["th-1"] and "token" not in listed[0]
    answer = post(api, tenant, token, {"temp": 21.5, "hum": 4000, "junk": 1})
    assert answer.status_code == 200 and answer.json()["points"] == 2
    now = entity(api, tenant)
    assert now["temperature"]["value"] == 21.5 and now["temperature"]["unitCode"] == "CEL"
    assert now["relativeHumidity"]["value"] == 40 and "junk" not in now
    hour = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H")
    batch = [{"temp": i, "ts": f"{hour}:00:{i:02d}Z"} for i in range(10)]
    answer = post(api, tenant, token, {"readings": batch})
    assert answer.json() == {"accepted": 10, "points": 10, "duplicates": 0}
    assert entity(api, tenant)["temperature"]["value"] == 9
    # a late reading does not roll the current state back
    post(api, tenant, token, {"temp": -5, "ts": "2020-01-01T00:00:00Z"})
    assert entity(api, tenant)["temperature"]["value"] == 9


def test_redelivery_is_not_applied_twice(api, tenant) -> None:
    token = provision(api, tenant)
    body = [{"count": 1, "msgId": "a"}, {"count": 2, "msgId": "b"}]
    assert post(api, tenant, token, body).json()["accepted"] == 2
    again = post(api, tenant, token, body).json()
    assert again == {"accepted": 0, "points": 0, "duplicates": 2}
    keyed = post(api, tenant, token, {"count": 5}, **{"Idempotency-Key": "k1"}).json()
    assert keyed["accepted"] == 1
    assert (
        post(api, tenant, token, {"count": 6}, **{"Idempotency-Key": "k1"}).json()["duplicates"]
        == 1
    )
    assert entity(api, tenant)["peopleCount"]["value"] == 5
    metrics = api.get("/metrics").text
    assert 'hyperville_ingest_duplicates_total{source="http"} 3' in metrics


def test_refusals_are_problem_details_dead_lettered_and_counted(api, tenant) -> None:
    token = provision(api, tenant)
    wrong_token = post(api, tenant, "not-the-token", {"temp": 1})
    assert wrong_token.status_code == 401 and wrong_token.headers["www-authenticate"] == "Bearer"
    unknown = post(api, tenant, token, {"temp": 1}, device="nope")
    assert unknown.status_code == 404
    assert unknown.json()["type"].endswith("ResourceNotFound")
    image = post(api, tenant, token, b"\x89PNG\r\n\x1a\n", **{"Content-Type": "image/png"})
    assert image.status_code == 400 and "binary" in image.json()["detail"]
    blob = post(api, tenant, token, {"temp": 1, "img": "A" * 200})
    assert blob.status_code == 400 and "base64" in blob.json()["detail"]
    wrong_type = post(api, tenant, token, [{"temp": 1}, {"temp": "hot"}])
    assert wrong_type.status_code == 400
    assert wrong_type.json()["detail"].startswith("reading 1: field 'temp'")
    broken = post(api, tenant, token, b"{not json", **{"Content-Type": "application/json"})
    assert broken.status_code == 400
    reasons = [d["reason"] for d in dead_letters(api)]
    assert len(reasons) == 6 and any("not provisioned" in r for r in reasons)
    assert "temperature" not in entity(api, tenant)  # nothing else affected
    metrics = api.get("/metrics").text
    assert 'hyperville_ingest_dead_lettered_total{source="http"} 6' in metrics
    assert 'reason="unauthorized"} 1' in metrics


def test_dead_letter_replay_after_fixing_the_cause(api, tenant) -> None:
    provision(api, tenant)
    post(api, tenant, "x" * 20, {"count": 3}, device="later")  # unknown device
    [letter] = dead_letters(api)
    provision(api, tenant, device_id="later")
    replayed = api.post("/api/v1/deadletters/replay", json={"ids": [letter["id"]]}).json()
    assert replayed == [{"id": letter["id"], "status": "accepted", "points": 1, "reason": None}]
    assert entity(api, tenant, "later")["peopleCount"]["value"] == 3
    assert dead_letters(api) == []


def test_full_queue_answers_503_with_retry_after(tmp_path, monkeypatch, tenant) -> None:
    with make_client(tmp_path, monkeypatch, ingest_queue_max=5) as client:
        token = provision(client, tenant)
        store = client.app.state.twin.store
        gate = threading.Event()
        store.submit("", lambda tx: gate.wait(10))  # the writer is stuck
        results = []
        worker = threading.Thread(
            target=lambda: results.append(post(client, tenant, token, [{"count": 1}] * 5))
        )
        worker.start()
        pipeline = client.app.state.ingestion.pipeline
        while pipeline.metrics.queue_depth() < 5:
            threading.Event().wait(0.01)
        busy = post(client, tenant, token, {"count": 2})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert results == []  # not acknowledged while not durable
        gate.set()
        worker.join(10)
        assert results[0].status_code == 200


def test_csv_import(api, tenant) -> None:
    csv = (
        "deviceId,entityType,mapping\n"
        'c1,Counter,"{""n"": {""attr"": ""peopleCount""}}"\n'
        'c2,Counter,"{""n"": ""peopleCount""}"\n'
    )
    answer = api.post(
        "/api/v1/devices/import",
        content=csv,
        headers={"Content-Type": "text/csv", "NGSILD-Tenant": tenant},
    )
    assert answer.status_code == 201, answer.text
    tokens = {d["deviceId"]: d["token"] for d in answer.json()}
    assert post(api, tenant, tokens["c2"], {"n": 4}, device="c2").status_code == 200
    again = api.post(
        "/api/v1/devices/import",
        content=csv,
        headers={"Content-Type": "text/csv", "NGSILD-Tenant": tenant},
    )
    assert again.status_code == 409


def chirpstack_up(dev_eui: str, dedup: str, obj: dict) -> dict:
    return {
        "deduplicationId": dedup,
        "time": "2026-11-25T10:00:00.000Z",
        "deviceInfo": {"devEui": dev_eui, "applicationId": "app-1", "tenantId": "cs"},
        "fCnt": 7,
        "fPort": 1,
        "object": obj,
    }


def test_chirpstack_http_integration(api, tenant) -> None:
    eui = "0011223344556677"
    provision(api, tenant, device_id=eui)
    url = "/ingest/v1/chirpstack?event=up"
    auth = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    body = chirpstack_up(eui, "9f0c3b3e-1d7c-4c1e-9d59-000000000001", {"temp": 12.5})
    assert api.post(url, json=body).status_code == 401
    assert api.post(url, json=body, headers=auth).json()["points"] == 1
    assert api.post(url, json=body, headers=auth).json()["duplicates"] == 1
    got = entity(api, tenant, eui)["temperature"]
    assert got["value"] == 12.5 and got["observedAt"] == "2026-11-25T10:00:00.000Z"
    other = api.post("/ingest/v1/chirpstack?event=join", json={}, headers=auth)
    assert other.status_code == 204
    unknown = chirpstack_up("ffffffffffffffff", "x", {"temp": 1})
    assert api.post(url, json=unknown, headers=auth).status_code == 404


def test_ttn_webhook(api, tenant) -> None:
    provision(api, tenant, device_id="eui-a840")
    body = {
        "end_device_ids": {"device_id": "eui-a840", "application_ids": {"application_id": "ap"}},
        "correlation_ids": ["as:up:01HZZZZZZZZZZZZZZZZZZZZZZZ"],
        "received_at": "2026-11-25T10:00:01Z",
        "uplink_message": {"f_cnt": 3, "f_port": 2, "decoded_payload": {"count": 17}},
    }
    auth = {
        "Authorization": f"Bearer {WEBHOOK_TOKEN}",
        "NGSILD-Tenant": tenant,
        "Content-Type": "application/json",
    }
    answer = api.post("/ingest/v1/ttn", content=orjson.dumps(body), headers=auth)
    assert answer.status_code == 200, answer.text
    assert entity(api, tenant, "eui-a840")["peopleCount"]["value"] == 17
