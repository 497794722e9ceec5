"""Bounds on every path: long numbers and path segments are 4xx (never 500), error details
are clipped, and every answer carries the security headers (service/api/limits.py)."""

from __future__ import annotations

import pytest

ROUTES_WITH_ROUND = [
    "/choropleth/2.geojson?round={}",
    "/exports/figures-adm2.csv?round={}",
    "/tiles/admin2/5/20/12.pbf?round={}",
]


@pytest.mark.parametrize("url", ROUTES_WITH_ROUND)
def test_a_round_of_thousands_of_digits_is_a_400(client, url):
    r = client.get(url.format("9" * 4301))
    assert r.status_code in (400, 404), (url, r.status_code, r.text[:200])
    assert len(r.json()["detail"]) < 500


@pytest.mark.parametrize(
    "url",
    [
        "/static/" + "a" * 256 + ".js",
        "/fonts/Noto%20Sans%20Regular/" + "0" * 300 + "-255.pbf",
        "/admin-units/" + "X" * 300,
    ],
)
def test_long_path_segments_are_a_404(client, url):
    r = client.get(url)
    assert r.status_code == 404 and "over 200 bytes" in r.json()["detail"]


def test_glyph_range_of_many_digits_is_a_400(client):
    r = client.get("/fonts/Noto%20Sans%20Regular/" + "1" * 150 + "-" + "2" * 40 + ".pbf")
    assert r.status_code == 400


@pytest.mark.parametrize("url", ["/", "/health", "/docs", "/rounds", "/nothing-here", "/openapi.json"])
def test_security_headers_on_every_answer(client, url):
    r = client.get(url)
    h = r.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert h["referrer-policy"] == "strict-origin-when-cross-origin"


def test_data_answers_carry_the_apis_short_policy(client):
    """issue 23: a round step stays under 2 KB: JSON answers carry the API's short policy (no
    document loads from them), pages the web map's."""
    data = client.get("/rounds").headers["content-security-policy"]
    page = client.get("/").headers["content-security-policy"]
    assert data == "default-src 'none'; frame-ancestors 'none'"
    assert "script-src 'self'" in page and "frame-ancestors 'none'" in page


def test_error_details_are_clipped():
    from service.api.limits import bounded_int, clip

    assert clip("x" * 10_000).endswith("(9,600 more characters)")
    assert bounded_int("9" * 4301) is None and bounded_int("120") == 120 and bounded_int("1e3") is None
