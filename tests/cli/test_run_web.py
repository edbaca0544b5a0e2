"""`accueil run` serves the web side in the bot's own process: with no Telegram token it serves the
console and the web chat and says so; the chat can be switched off; a taken port is named."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path

import aiohttp
import pytest

from bot.app.settings import PROJECT_ROOT
from storage.crypto import RecipientPrivateKey
from testkit.accueil import accueil_argv, operator_env, run_accueil
from testkit.databases import register_recipient


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    data = tmp_path / "data"
    data.mkdir()
    url = f"sqlite+aiosqlite:///{data / 'accueil.db'}"
    await register_recipient(url, RecipientPrivateKey.generate())
    return operator_env(ACCUEIL_DATA_DIR=str(data), ACCUEIL_DATABASE_URL=url, **extra)


async def _serve(env: dict[str, str], port: int, paths: list[str]) -> tuple[dict[str, int], str, int]:
    """Start `accueil run`, wait for the web side, GET each path, stop it; statuses, stderr, exit code."""
    process = await asyncio.create_subprocess_exec(
        *accueil_argv("run"),
        cwd=PROJECT_ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    statuses: dict[str, int] = {}
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/") as response:
                        await response.read()
                    break
                except aiohttp.ClientConnectionError:
                    if process.returncode is not None:
                        break
                    await asyncio.sleep(0.1)
            for path in paths:
                async with http.get(f"http://127.0.0.1:{port}{path}", allow_redirects=False) as response:
                    statuses[path] = response.status
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    return statuses, stderr.decode(), process.returncode or 0


async def test_run_without_a_token_serves_the_console_and_the_web_chat(tmp_path: Path) -> None:
    port = _free_port()
    env = await _env(tmp_path, ACCUEIL_WEB_LISTEN=f"127.0.0.1:{port}")
    statuses, stderr, code = await _serve(env, port, ["/console/", "/chat/"])
    assert statuses == {"/console/": 200, "/chat/": 200}, stderr
    assert code == 0, stderr
    assert "No ACCUEIL_TELEGRAM_TOKEN is set: the web side only" in stderr
    assert f"serving the caseworkers' console at http://localhost:{port}/console/" in stderr
    assert f"serving the web chat at http://localhost:{port}/chat/" in stderr
    assert "Traceback" not in stderr


async def test_the_web_chat_can_be_switched_off(tmp_path: Path) -> None:
    port = _free_port()
    env = await _env(tmp_path, ACCUEIL_WEB_LISTEN=f"127.0.0.1:{port}", ACCUEIL_WEB_CHAT="off")
    statuses, stderr, code = await _serve(env, port, ["/console/", "/chat/"])
    assert statuses == {"/console/": 200, "/chat/": 404}, stderr
    assert code == 0, stderr
    assert "web chat" not in stderr.split("No ACCUEIL_TELEGRAM_TOKEN", 1)[1].split("\n", 4)[-1]


async def test_a_taken_port_is_named_with_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = await _env(tmp_path, ACCUEIL_WEB_LISTEN=f"127.0.0.1:{port}")
        result = await asyncio.to_thread(run_accueil, "run", env=env)
    assert result.returncode != 0
    assert f"the web side cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "ACCUEIL_WEB_LISTEN" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("listen", ["off"])
async def test_nothing_to_serve_is_said_plainly(tmp_path: Path, listen: str) -> None:
    env = await _env(tmp_path, ACCUEIL_WEB_LISTEN=listen)
    result = await asyncio.to_thread(run_accueil, "run", env=env)
    assert result.returncode != 0
    assert "nothing to serve" in result.stderr and "Traceback" not in result.stderr
