"""The web server every page goes through: strict headers on every answer, and no traceback to anyone."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from testkit.web import serving


def _part() -> web.Application:
    app = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello", content_type="text/html")

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail from deep inside")

    app.router.add_get("/", hello)
    app.router.add_get("/broken", broken)
    return app


async def test_every_answer_carries_the_strict_headers() -> None:
    async with serving({"/part/": _part()}) as base, aiohttp.ClientSession() as http:
        for path, status in (("/part/", 200), ("/nowhere", 404), ("/", 404)):
            async with http.get(base + path) as response:
                assert response.status == status
                csp = response.headers["Content-Security-Policy"]
                assert "default-src 'none'" in csp
                assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
                assert "frame-ancestors 'none'" in csp
                assert response.headers["Referrer-Policy"] == "no-referrer"
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                assert response.headers["Cache-Control"] == "no-store"


async def test_a_failing_handler_answers_plainly_and_logs_a_reference(caplog: pytest.LogCaptureFixture) -> None:
    async with (
        serving({"/part/": _part()}) as base,
        aiohttp.ClientSession() as http,
        http.get(base + "/part/broken") as response,
    ):
        assert response.status == 500
        body = await response.json()
    assert "Something went wrong on our side" in body["error"]
    assert "secret detail" not in str(body) and "Traceback" not in str(body)
    reference = body["error"].rsplit("reference ", 1)[1].rstrip(")")
    assert len(reference) == 8
    assert any(getattr(r, "incident", None) == reference for r in caplog.records)


async def test_framing_follows_the_operator() -> None:
    async with (
        serving({"/part/": _part()}, frame_ancestors="https://asso.example.org") as base,
        aiohttp.ClientSession() as http,
        http.get(base + "/part/") as response,
    ):
        assert "frame-ancestors https://asso.example.org" in response.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in response.headers
