"""Settings from environment variables (prefix ``ACCUEIL_``) and an optional file.

The file (``ACCUEIL_CONFIG=path``, TOML) uses the same names in lower case
without the prefix: ``database_url = "..."``. The environment wins over the
file. A missing or malformed setting raises `ConfigError` naming it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.app.web_settings import WebSettings, web_settings
from bot.conversation.limits import SETTING_NAMES as LIMIT_SETTINGS
from bot.conversation.limits import Limits, parse_limits
from bot.errors import ConfigError
from bot.handoff.hours import OfficeHours, parse_office_hours

DEFAULT_OFFICE_HOURS = "mon-fri 09:00-18:00"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
PREFIX = "ACCUEIL_"
MIN_WEBHOOK_SECRET = 32
SECRET_RULE = f"{MIN_WEBHOOK_SECRET}-256 characters of A-Z a-z 0-9 _ -, e.g. from `openssl rand -hex 32`"
WEBHOOK_URL_RULE = "ACCUEIL_WEBHOOK_URL must be an https:// URL that Telegram can reach"


class Secret:
    """A string whose `repr` and `str` hide it; `.reveal()` gives it back."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""
    telegram_token: Secret | None = None
    telegram_api_base: str | None = None
    webhook_url: str | None = None
    webhook_secret: Secret | None = None
    webhook_listen: str = "127.0.0.1:8080"
    dialogs_dir: Path = PROJECT_ROOT / "dialogs"
    locales_dir: Path = PROJECT_ROOT / "locales"
    default_language: str = "fr"
    server_key: Secret | None = None
    #: The fingerprint of the association key that certifies recipient keys (`accueil keys init --association`).
    association_key: str | None = None
    log_level: str = "INFO"
    retention_days: int = 365
    #: An intake with no step for this long is abandoned: its working state is destroyed.
    intake_expiry_hours: int = 72
    models_dir: Path = Path("data/models")
    staff_language: str = "fr"
    mt_compute_type: str = "int8"
    mt_threads: int = 0
    #: The Telegram group where the staff are told about new cases (the bot must be a member).
    staff_chat_id: int | None = None
    renotify_minutes: int = 15
    office_hours: OfficeHours = field(default_factory=lambda: parse_office_hours(DEFAULT_OFFICE_HOURS))
    #: Floods, conversations a day, Bot API pacing (`bot.conversation.limits`).
    limits: Limits = field(default_factory=Limits)
    #: The web side: the console and the web chat (`bot.web`).
    web: WebSettings = field(default_factory=WebSettings)
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def webhook_host_port(self) -> tuple[str, int]:
        host, _, port = self.webhook_listen.rpartition(":")
        return host or "127.0.0.1", int(port)


_KNOWN = {
    "data_dir",
    "database_url",
    "telegram_token",
    "telegram_api_base",
    "webhook_url",
    "webhook_secret",
    "webhook_listen",
    "dialogs_dir",
    "locales_dir",
    "default_language",
    "server_key",
    "association_key",
    "log_level",
    "retention_days",
    "intake_expiry_hours",
    "models_dir",
    "staff_language",
    "mt_compute_type",
    "mt_threads",
    "staff_chat_id",
    "renotify_minutes",
    "office_hours",
    "timezone",
    "holidays",
    "config",
    "web_listen",
    "web_public_url",
    "web_chat",
    "web_exit_url",
    "web_title",
    "web_icon",
    "web_frame_ancestors",
    "web_trusted_proxies",
} | LIMIT_SETTINGS


def load_settings(environ: Mapping[str, str] | None = None, **overrides: str | None) -> Settings:
    """Read settings; `overrides` (from command-line flags) win over everything."""
    values = _gather(dict(os.environ if environ is None else environ), overrides)
    data_dir = Path(values.pop("data_dir", "data"))
    database_url = values.pop("database_url", "") or f"sqlite+aiosqlite:///{(data_dir / 'accueil.db').resolve()}"
    telegram = _telegram(values)
    level = values.pop("log_level", "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"ACCUEIL_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR (got {level!r})")
    language = values.pop("default_language", "fr")
    server_key = values.pop("server_key", None)
    association = values.pop("association_key", None)
    if association is not None and not re.fullmatch(r"[0-9a-f]{64}", association.strip().lower()):
        raise ConfigError("ACCUEIL_ASSOCIATION_KEY must be the 64 hex digits `accueil keys init --association` prints")
    retention = _whole(
        values, "retention_days", "365", 1, "ACCUEIL_RETENTION_DAYS must be a whole number of days, at least 1"
    )
    expiry = _whole(
        values,
        "intake_expiry_hours",
        "72",
        1,
        "ACCUEIL_INTAKE_EXPIRY_HOURS must be a whole number of hours, at least 1",
    )
    models_dir = Path(values.pop("models_dir", str(data_dir / "models")))
    staff_language = values.pop("staff_language", "fr")
    compute_type = values.pop("mt_compute_type", "int8")
    if compute_type not in ("int8", "int8_float32", "float32", "default", "auto"):
        raise ConfigError(f"ACCUEIL_MT_COMPUTE_TYPE must be int8, int8_float32, float32 or auto (got {compute_type!r})")
    threads = _whole(values, "mt_threads", "0", 0, "ACCUEIL_MT_THREADS must be a whole number, 0 for automatic")
    staff_chat = values.pop("staff_chat_id", None)
    if staff_chat is not None and not re.fullmatch(r"-?\d+", staff_chat):
        raise ConfigError(
            f"ACCUEIL_STAFF_CHAT_ID must be the staff group's numeric id, e.g. -1001234567890 (got {staff_chat!r})"
        )
    renotify = _whole(
        values, "renotify_minutes", "15", 1, "ACCUEIL_RENOTIFY_MINUTES must be a whole number of minutes, at least 1"
    )
    office_hours = parse_office_hours(
        values.pop("office_hours", DEFAULT_OFFICE_HOURS),
        values.pop("timezone", "Europe/Paris"),
        values.pop("holidays", ""),
    )
    limits = parse_limits(values)
    web = web_settings(values)
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        telegram_token=Secret(telegram.token) if telegram.token else None,
        telegram_api_base=telegram.api_base.rstrip("/") if telegram.api_base else None,
        webhook_url=telegram.webhook_url,
        webhook_secret=Secret(telegram.webhook_secret) if telegram.webhook_secret else None,
        webhook_listen=telegram.listen,
        dialogs_dir=Path(values.pop("dialogs_dir", str(PROJECT_ROOT / "dialogs"))),
        locales_dir=Path(values.pop("locales_dir", str(PROJECT_ROOT / "locales"))),
        default_language=language,
        server_key=Secret(server_key) if server_key else None,
        association_key=association.strip().lower() if association else None,
        log_level=level,
        retention_days=retention,
        intake_expiry_hours=expiry,
        models_dir=models_dir,
        staff_language=staff_language,
        mt_compute_type=compute_type,
        mt_threads=threads,
        staff_chat_id=int(staff_chat) if staff_chat is not None else None,
        renotify_minutes=renotify,
        office_hours=office_hours,
        limits=limits,
        web=web,
        extra=values,
    )


def _gather(env: dict[str, str], overrides: Mapping[str, str | None]) -> dict[str, str]:
    """The TOML file named by ACCUEIL_CONFIG, then the environment, then the flags: each wins over the one before."""
    values: dict[str, str] = {}
    config_path = env.get(PREFIX + "CONFIG")
    if config_path:
        values.update(_read_file(Path(config_path)))
    for name, value in env.items():
        if name.startswith(PREFIX) and value != "":
            values[name[len(PREFIX) :].lower()] = value
    values.update({k: v for k, v in overrides.items() if v is not None})
    values.pop("config", None)
    return values


def _whole(values: dict[str, str], name: str, default: str, minimum: int, rule: str) -> int:
    """A whole-number setting, at least `minimum`; `rule` is what the operator is told otherwise."""
    raw = values.pop(name, default)
    if not raw.isdigit() or int(raw) < minimum:
        raise ConfigError(f"{rule} (got {raw!r})")
    return int(raw)


@dataclass(frozen=True)
class _Telegram:
    token: str | None
    api_base: str | None
    webhook_url: str | None
    webhook_secret: str | None
    listen: str


def _telegram(values: dict[str, str]) -> _Telegram:
    api_base = values.pop("telegram_api_base", None)
    if api_base is not None and not api_base.startswith(("http://", "https://")):
        raise ConfigError(f"ACCUEIL_TELEGRAM_API_BASE must be an http(s) URL (got {api_base!r})")
    webhook_url = values.pop("webhook_url", None)
    if webhook_url is not None:
        _check_webhook_url(webhook_url)
    webhook_secret = values.pop("webhook_secret", None)
    if webhook_url and not webhook_secret:
        raise ConfigError(f"ACCUEIL_WEBHOOK_SECRET is required with ACCUEIL_WEBHOOK_URL ({SECRET_RULE})")
    if webhook_secret is not None and not _is_token(webhook_secret):
        raise ConfigError(f"ACCUEIL_WEBHOOK_SECRET must be {SECRET_RULE}")
    listen = values.pop("webhook_listen", "127.0.0.1:8080")
    if not listen.rpartition(":")[2].isdigit():
        raise ConfigError(f"ACCUEIL_WEBHOOK_LISTEN must be HOST:PORT (got {listen!r})")
    token = values.pop("telegram_token", None)
    if token is not None and ":" not in token:
        raise ConfigError("ACCUEIL_TELEGRAM_TOKEN does not look like a bot token (123456:ABC...) from @BotFather")
    return _Telegram(token, api_base, webhook_url, webhook_secret, listen)


def _is_token(value: str) -> bool:
    """Telegram takes 1-256 of A-Z a-z 0-9 _ -; fewer than 32 could be guessed by whoever can reach the port."""
    return MIN_WEBHOOK_SECRET <= len(value) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in value)


def _check_webhook_url(url: str) -> None:
    """https with a host; plain http only to a loopback address (a local Bot API server, tests)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise ConfigError(WEBHOOK_URL_RULE) from exc
    host = parts.hostname or ""
    if not host or parts.username is not None or parts.password is not None:
        raise ConfigError(WEBHOOK_URL_RULE)
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host)):
        return
    raise ConfigError(WEBHOOK_URL_RULE)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_file(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"ACCUEIL_CONFIG: cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"ACCUEIL_CONFIG: {path} is not valid TOML: {exc}") from exc
    out: dict[str, str] = {}
    for key, value in data.items():
        if key not in _KNOWN:
            raise ConfigError(f"ACCUEIL_CONFIG: {path} has an unknown setting {key!r}")
        out[key] = str(value)
    return out
