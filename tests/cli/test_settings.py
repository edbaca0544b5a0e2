"""Settings from the environment and an optional TOML file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app.settings import PROJECT_ROOT, Secret, Settings, load_settings
from bot.errors import ConfigError

TOKEN = "123456:CANARY-token-7f3e"
SERVER_KEY = "CANARY-server-key-91ab"
WEBHOOK_SECRET = "CANARY_webhook_secret-55_long-enough_0123"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths (the default data directory) resolve under tmp_path."""
    monkeypatch.chdir(tmp_path)


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(environ={})
    assert settings == Settings(
        data_dir=Path("data"),
        database_url=f"sqlite+aiosqlite:///{tmp_path.resolve() / 'data' / 'accueil.db'}",
        telegram_token=None,
        telegram_api_base=None,
        webhook_url=None,
        webhook_secret=None,
        webhook_listen="127.0.0.1:8080",
        dialogs_dir=PROJECT_ROOT / "dialogs",
        locales_dir=PROJECT_ROOT / "locales",
        default_language="fr",
        server_key=None,
        log_level="INFO",
        extra={},
    )
    assert settings.webhook_host_port == ("127.0.0.1", 8080)


def test_environment_overrides() -> None:
    settings = load_settings(
        environ={
            "ACCUEIL_DATA_DIR": "/srv/accueil",
            "ACCUEIL_DATABASE_URL": "postgresql+asyncpg://accueil@db/accueil",
            "ACCUEIL_TELEGRAM_TOKEN": TOKEN,
            "ACCUEIL_TELEGRAM_API_BASE": "http://127.0.0.1:8081/",
            "ACCUEIL_WEBHOOK_URL": "https://bot.example.org/hook",
            "ACCUEIL_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "ACCUEIL_WEBHOOK_LISTEN": "0.0.0.0:9000",
            "ACCUEIL_DIALOGS_DIR": "/etc/accueil/dialogs",
            "ACCUEIL_LOCALES_DIR": "/etc/accueil/locales",
            "ACCUEIL_DEFAULT_LANGUAGE": "en",
            "ACCUEIL_SERVER_KEY": SERVER_KEY,
            "ACCUEIL_LOG_LEVEL": "debug",
            "ACCUEIL_FUTURE_FLAG": "on",
            "ACCUEIL_EMPTY": "",
            "HOME": "/root",
        }
    )
    assert settings == Settings(
        data_dir=Path("/srv/accueil"),
        models_dir=Path("/srv/accueil/models"),
        database_url="postgresql+asyncpg://accueil@db/accueil",
        telegram_token=Secret(TOKEN),
        telegram_api_base="http://127.0.0.1:8081",
        webhook_url="https://bot.example.org/hook",
        webhook_secret=Secret(WEBHOOK_SECRET),
        webhook_listen="0.0.0.0:9000",
        dialogs_dir=Path("/etc/accueil/dialogs"),
        locales_dir=Path("/etc/accueil/locales"),
        default_language="en",
        server_key=Secret(SERVER_KEY),
        log_level="DEBUG",
        extra={"future_flag": "on"},
    )
    assert settings.telegram_token is not None
    assert settings.telegram_token.reveal() == TOKEN
    assert settings.webhook_host_port == ("0.0.0.0", 9000)


def test_default_database_follows_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(environ={"ACCUEIL_DATA_DIR": "state"})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'state' / 'accueil.db'}"


def test_toml_file_with_the_environment_winning(tmp_path: Path) -> None:
    config = tmp_path / "accueil.toml"
    config.write_text(
        'data_dir = "/var/lib/accueil"\n'
        'log_level = "warning"\n'
        'default_language = "ar"\n'
        'webhook_listen = "127.0.0.1:8443"\n'
        f'server_key = "{SERVER_KEY}"\n',
        encoding="utf-8",
    )
    settings = load_settings(environ={"ACCUEIL_CONFIG": str(config), "ACCUEIL_LOG_LEVEL": "ERROR"})
    assert settings.data_dir == Path("/var/lib/accueil")
    assert settings.database_url == "sqlite+aiosqlite:////var/lib/accueil/accueil.db"
    assert settings.log_level == "ERROR"
    assert settings.default_language == "ar"
    assert settings.webhook_host_port == ("127.0.0.1", 8443)
    assert settings.server_key == Secret(SERVER_KEY)
    assert settings.extra == {}
    # Command-line overrides win over both; None means "not given".
    settings = load_settings(
        environ={"ACCUEIL_CONFIG": str(config), "ACCUEIL_LOG_LEVEL": "ERROR"}, log_level="debug", data_dir=None
    )
    assert (settings.log_level, settings.data_dir) == ("DEBUG", Path("/var/lib/accueil"))


def test_plain_http_webhook_is_accepted_on_the_loopback() -> None:
    settings = load_settings(
        environ={"ACCUEIL_WEBHOOK_URL": "http://127.0.0.1:8080/hook", "ACCUEIL_WEBHOOK_SECRET": "abc_DEF-123" * 3}
    )
    assert settings.webhook_url == "http://127.0.0.1:8080/hook"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"ACCUEIL_TELEGRAM_API_BASE": "api.telegram.org"},
            "ACCUEIL_TELEGRAM_API_BASE must be an http(s) URL (got 'api.telegram.org')",
        ),
        (
            {"ACCUEIL_TELEGRAM_TOKEN": "CANARY-no-colon"},
            "ACCUEIL_TELEGRAM_TOKEN does not look like a bot token (123456:ABC...) from @BotFather",
        ),
        (
            {"ACCUEIL_WEBHOOK_URL": "https://bot.example.org/hook"},
            "ACCUEIL_WEBHOOK_SECRET is required with ACCUEIL_WEBHOOK_URL (32-256 characters of A-Z a-z 0-9 _ -, "
            "e.g. from `openssl rand -hex 32`)",
        ),
        (
            {"ACCUEIL_WEBHOOK_URL": "http://bot.example.org/hook", "ACCUEIL_WEBHOOK_SECRET": "abc"},
            "ACCUEIL_WEBHOOK_URL must be an https:// URL that Telegram can reach",
        ),
        (
            {"ACCUEIL_WEBHOOK_SECRET": "CANARY secret with spaces"},
            "ACCUEIL_WEBHOOK_SECRET must be 32-256 characters of A-Z a-z 0-9 _ -, e.g. from `openssl rand -hex 32`",
        ),
        (
            {"ACCUEIL_WEBHOOK_SECRET": "x" * 257},
            "ACCUEIL_WEBHOOK_SECRET must be 32-256 characters of A-Z a-z 0-9 _ -, e.g. from `openssl rand -hex 32`",
        ),
        (
            {"ACCUEIL_WEBHOOK_LISTEN": "localhost"},
            "ACCUEIL_WEBHOOK_LISTEN must be HOST:PORT (got 'localhost')",
        ),
        (
            {"ACCUEIL_LOG_LEVEL": "loud"},
            "ACCUEIL_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR (got 'LOUD')",
        ),
    ],
)
def test_malformed_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)
    assert str(caught.value) == message
    assert "CANARY" not in str(caught.value)


def test_unknown_key_in_the_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "accueil.toml"
    config.write_text('log_level = "INFO"\ncolour = "red"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"ACCUEIL_CONFIG": str(config)})
    assert str(caught.value) == f"ACCUEIL_CONFIG: {config} has an unknown setting 'colour'"


def test_unreadable_toml_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"ACCUEIL_CONFIG": str(missing)})
    assert str(caught.value) == f"ACCUEIL_CONFIG: cannot read {missing}: No such file or directory"


def test_invalid_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "accueil.toml"
    config.write_text("log_level = INFO\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"ACCUEIL_CONFIG": str(config)})
    assert str(caught.value).startswith(f"ACCUEIL_CONFIG: {config} is not valid TOML: ")
    assert "(at line 1, column 13)" in str(caught.value)


def test_a_bad_value_in_the_toml_file_names_the_variable(tmp_path: Path) -> None:
    config = tmp_path / "accueil.toml"
    config.write_text('log_level = "chatty"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^ACCUEIL_LOG_LEVEL must be .* \(got 'CHATTY'\)$"):
        load_settings(environ={"ACCUEIL_CONFIG": str(config)})


def test_repr_never_shows_the_secrets(tmp_path: Path) -> None:
    config = tmp_path / "accueil.toml"
    config.write_text(f'server_key = "{SERVER_KEY}"\n', encoding="utf-8")
    settings = load_settings(
        environ={
            "ACCUEIL_CONFIG": str(config),
            "ACCUEIL_TELEGRAM_TOKEN": TOKEN,
            "ACCUEIL_WEBHOOK_URL": "https://bot.example.org/hook",
            "ACCUEIL_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
    )
    assert settings.server_key is not None
    assert settings.server_key.reveal() == SERVER_KEY
    for shown in (repr(settings), str(settings), f"{settings}", repr(settings.telegram_token)):
        assert "CANARY" not in shown
    assert "telegram_token=Secret('***')" in repr(settings)
    assert "server_key=Secret('***')" in repr(settings)
    assert "webhook_secret=Secret('***')" in repr(settings)
    assert str(Secret(TOKEN)) == "Secret('***')"


def test_web_side_defaults_listen_on_loopback_with_a_neutral_face() -> None:
    web = load_settings({}).web
    assert web.listen == ("127.0.0.1", 8090)
    assert web.public_url == "http://localhost:8090"
    assert web.chat is True
    assert web.title == "Chat"
    assert web.frame_ancestors == "'none'"
    assert web.secure is False
    assert web.trusted_proxies == ("127.0.0.1/32", "::1/128")


def test_trusted_proxies_are_read_as_networks() -> None:
    web = load_settings({"ACCUEIL_WEB_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7"}).web
    assert web.trusted_proxies == ("10.0.0.0/8", "192.168.1.7/32")
    assert load_settings({"ACCUEIL_WEB_TRUSTED_PROXIES": "none"}).web.trusted_proxies == ()


def test_web_side_settings_are_read_and_checked() -> None:
    web = load_settings(
        {
            "ACCUEIL_WEB_LISTEN": "0.0.0.0:9000",
            "ACCUEIL_WEB_PUBLIC_URL": "https://aide.example.org/",
            "ACCUEIL_WEB_CHAT": "off",
            "ACCUEIL_WEB_EXIT_URL": "https://meteo.example.org/",
            "ACCUEIL_WEB_FRAME_ANCESTORS": "https://asso.example.org",
        }
    ).web
    assert web.listen == ("0.0.0.0", 9000)
    assert web.public_url == "https://aide.example.org"
    assert web.secure is True
    assert web.chat is False
    assert web.exit_url == "https://meteo.example.org/"
    assert web.frame_ancestors == "https://asso.example.org"
    assert load_settings({"ACCUEIL_WEB_LISTEN": "off"}).web.listen is None


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("ACCUEIL_WEB_LISTEN", "localhost", "HOST:PORT, or off"),
        ("ACCUEIL_WEB_PUBLIC_URL", "aide.example.org", "http(s) URL"),
        ("ACCUEIL_WEB_CHAT", "maybe", "on or off"),
        ("ACCUEIL_WEB_EXIT_URL", "javascript:alert(1)", "ACCUEIL_WEB_EXIT_URL"),
        ("ACCUEIL_WEB_FRAME_ANCESTORS", "* 'unsafe-inline'", "ACCUEIL_WEB_FRAME_ANCESTORS"),
        ("ACCUEIL_WEB_ICON", "/etc/passwd", ".svg, .png or .ico"),
        ("ACCUEIL_WEB_ICON", "/nowhere/icon.png", "cannot read /nowhere/icon.png"),
        ("ACCUEIL_WEB_TRUSTED_PROXIES", "proxy.local", "ACCUEIL_WEB_TRUSTED_PROXIES"),
    ],
)
def test_a_bad_web_setting_is_named(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_settings({name: value})
