"""Security headers: every answer gets them, HTML pages also get a Content-Security-Policy."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from hyperville.api.app import create_app
from hyperville.api.security_headers import _added, content_security_policy, tile_origins
from hyperville.settings import Settings
from hyperville.web.basemap import basemap

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def _directives(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in csp.split("; ")}


@pytest.mark.parametrize(
    "path, status",
    [
        ("/ngsi-ld/v1/entities?type=Thing", 200),
        ("/ngsi-ld/v1/entities/urn:ngsi-ld:Thing:none", 404),  # ProblemDetails too
        ("/ngsi-ld/v1/entities?type=Thing&bogus=1", 400),  # refused before any endpoint
        ("/health", 200),
    ],
)
def test_every_answer_has_the_common_headers_and_json_no_csp(api, path, status):
    answer = api.get(path)
    assert answer.status_code == status
    for name, value in COMMON.items():
        assert answer.headers[name] == value, name
    assert "camera=()" in answer.headers["permissions-policy"]
    assert "content-security-policy" not in answer.headers


@pytest.mark.parametrize("path", ["/", "/about"])
def test_html_pages_have_a_strict_script_policy(api, path):
    answer = api.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    csp = _directives(answer.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["connect-src"] == ["'self'"]  # the offline basemap: no tile server
    assert "'unsafe-inline'" not in csp["script-src"] + csp["default-src"]
    assert "<script>" not in answer.text  # no inline script the policy would have to allow


def test_a_basemap_tile_server_is_allowed_for_images_and_fetches(tmp_path, monkeypatch):
    monkeypatch.setenv("HYPERVILLE_ALLOW_DEFAULT_SECRET", "1")
    settings = Settings(db_path=tmp_path / "b.sqlite", basemap="ign-plan")
    with TestClient(create_app(settings)) as client:
        csp = _directives(client.get("/").headers["content-security-policy"])
    ign = "https://data.geopf.fr"
    assert ign in csp["img-src"] and ign in csp["connect-src"]
    assert csp["script-src"] == ["'self'"]  # tiles are images, never scripts


@pytest.mark.parametrize(
    "choice, origins",
    [
        ("twin", []),
        ("osm", ["https://tile.openstreetmap.org"]),
        ("https://tiles.city.fr:8443/plan/{z}/{x}/{y}.png", ["https://tiles.city.fr:8443"]),
        ("https://{s}.tiles.example/{z}/{x}/{y}.png", ["https:"]),  # any host of the scheme
        ("http://user:pw@tiles.lan/{z}/{x}/{y}.png", ["http://tiles.lan"]),  # no credentials
    ],
)
def test_tile_origins(tmp_path, choice, origins):
    settings = Settings(
        db_path=tmp_path / "o.sqlite", basemap=choice, basemap_attribution="©", demo_mode=True
    )
    assert tile_origins(basemap(settings)) == origins
    for origin in origins:
        assert origin in content_security_policy(basemap(settings))


def test_headers_an_endpoint_sets_are_kept():
    headers = [(b"content-type", b"text/html"), (b"X-Frame-Options", b"SAMEORIGIN")]
    added = dict(_added(headers, b"default-src 'none'"))
    assert added[b"X-Frame-Options"] == b"SAMEORIGIN" and b"x-frame-options" not in added
    assert added[b"content-security-policy"] == b"default-src 'none'"
