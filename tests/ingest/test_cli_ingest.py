"""``hyperville deadletter list/replay`` and ``hyperville status`` without a server."""

from __future__ import annotations

from conftest import make_client, provision
from typer.testing import CliRunner

from hyperville.cli import app


def test_list_replay_and_status_offline(tmp_path, monkeypatch, tenant) -> None:
    with make_client(tmp_path, monkeypatch) as client:
        provision(client, tenant)
        headers = {"Authorization": "Bearer " + "x" * 20, "NGSILD-Tenant": tenant}
        client.post("/ingest/v1/devices/late/readings", json={"count": 4}, headers=headers)
        provision(client, tenant, device_id="late")
    db = str(tmp_path / "ingest.sqlite")
    runner = CliRunner()
    listed = runner.invoke(app, ["deadletter", "list", "--db", db])
    assert listed.exit_code == 0 and "not provisioned" in listed.stdout
    letter_id = listed.stdout.split("\t", 1)[0]
    url = "http://127.0.0.1:9/"  # nothing listens: replay opens the store itself
    replayed = runner.invoke(app, ["deadletter", "replay", letter_id, "--db", db, "--url", url])
    assert replayed.exit_code == 0, replayed.output
    assert f"{letter_id}\taccepted\t1" in replayed.stdout
    status = runner.invoke(app, ["status", "--db", db, "--url", url])
    assert status.exit_code == 0
    assert "devices: 2" in status.stdout and "dead letters: 0" in status.stdout
    assert "not reachable" in status.stdout
