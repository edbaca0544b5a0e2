"""The web side's settings (ACCUEIL_WEB_*): where it listens, how it presents itself, whom it trusts."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ConfigError

DEFAULT_WEB_PORT = 8090
#: A page that says nothing about why someone was here.
DEFAULT_EXIT_URL = "https://www.google.com/"
DEFAULT_WEB_TITLE = "Chat"

@dataclass(frozen=True)
class WebSettings:
    """Where the web side listens and how it presents itself."""

    #: HOST:PORT, or None when ACCUEIL_WEB_LISTEN=off.
    listen: tuple[str, int] | None = ("127.0.0.1", DEFAULT_WEB_PORT)
    #: The address people use (behind the operator's TLS proxy), for the links the bot prints.
    public_url: str = f"http://localhost:{DEFAULT_WEB_PORT}"
    chat: bool = True
    #: Where the web chat's quick exit goes: a neutral page of the operator's choosing.
    exit_url: str = DEFAULT_EXIT_URL
    #: The web chat's title in the browser's tab: neutral unless the operator writes otherwise.
    title: str = DEFAULT_WEB_TITLE
    #: The operator's own icon for the web chat's tab (.svg, .png or .ico); None: a neutral speech bubble.
    icon: Path | None = None
    #: CSP frame-ancestors: who may show the pages in a frame ("'none'": no one).
    frame_ancestors: str = "'none'"
    #: Proxies whose X-Forwarded-For is believed (the operator's TLS proxy): the web chat's
    #: per-address limits then count the address the proxy saw, not the proxy's own.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1/32", "::1/128")

    @property
    def secure(self) -> bool:
        """Served over https (by the operator's proxy): cookies carry `Secure`."""
        return self.public_url.startswith("https://")


def web_settings(values: dict[str, str]) -> WebSettings:
    """Pop the ACCUEIL_WEB_* settings from `values`, checked."""
    listen_raw = values.pop("web_listen", f"127.0.0.1:{DEFAULT_WEB_PORT}").strip()
    listen: tuple[str, int] | None = None
    if listen_raw.lower() != "off":
        host, _, port = listen_raw.rpartition(":")
        if not port.isdigit() or int(port) > 65535:
            raise ConfigError(f"ACCUEIL_WEB_LISTEN must be HOST:PORT, or off (got {listen_raw!r})")
        listen = (host.strip("[]") or "127.0.0.1", int(port))
    # Passkeys need a host name: on this machine's loopback the console is reached as localhost.
    host = "localhost" if listen and listen[0] in ("127.0.0.1", "::1", "localhost") else (listen[0] if listen else "")
    default_url = f"http://{host}:{listen[1]}" if listen else ""
    public_url = values.pop("web_public_url", default_url).rstrip("/")
    if public_url and not public_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"ACCUEIL_WEB_PUBLIC_URL must be an http(s) URL, e.g. https://aide.example.org (got {public_url!r})"
        )
    chat = values.pop("web_chat", "on").strip().lower()
    if chat not in ("on", "off"):
        raise ConfigError(f"ACCUEIL_WEB_CHAT must be on or off (got {chat!r})")
    exit_url = values.pop("web_exit_url", DEFAULT_EXIT_URL).strip()
    if not exit_url.startswith(("https://", "http://", "/")):
        raise ConfigError(f"ACCUEIL_WEB_EXIT_URL must be an http(s) URL or a path on this site (got {exit_url!r})")
    title = values.pop("web_title", DEFAULT_WEB_TITLE).strip() or DEFAULT_WEB_TITLE
    icon = _icon(values.pop("web_icon", "").strip())
    frames = values.pop("web_frame_ancestors", "'none'").strip() or "'none'"
    if not re.fullmatch(r"'none'|'self'|(https://[A-Za-z0-9.:*-]+)( https://[A-Za-z0-9.:*-]+)*", frames):
        raise ConfigError(
            "ACCUEIL_WEB_FRAME_ANCESTORS must be 'none', 'self' or https:// origins separated by spaces "
            f"(got {frames!r})"
        )
    proxies = _networks(values.pop("web_trusted_proxies", "127.0.0.1,::1"))
    return WebSettings(
        listen=listen,
        public_url=public_url,
        chat=chat == "on",
        exit_url=exit_url,
        title=title[:60],
        icon=icon,
        frame_ancestors=frames,
        trusted_proxies=proxies,
    )


#: The icon a page may carry: small, and of a kind a browser shows in a tab.
ICON_KINDS = {".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}
MAX_ICON = 64 * 1024


def _icon(raw: str) -> Path | None:
    if not raw:
        return None
    path = Path(raw)
    if path.suffix.lower() not in ICON_KINDS:
        raise ConfigError(f"ACCUEIL_WEB_ICON must be an .svg, .png or .ico file (got {raw!r})")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"ACCUEIL_WEB_ICON: cannot read {path}: {exc.strerror}") from exc
    if size > MAX_ICON:
        raise ConfigError(f"ACCUEIL_WEB_ICON: {path} is {size} bytes; an icon must be at most {MAX_ICON} (64 KB)")
    return path


def _networks(raw: str) -> tuple[str, ...]:
    """ACCUEIL_WEB_TRUSTED_PROXIES: addresses or networks separated by commas, or none."""
    if raw.strip().lower() == "none":
        return ()
    found = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            found.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError as exc:
            raise ConfigError(
                "ACCUEIL_WEB_TRUSTED_PROXIES must be addresses or networks separated by commas, e.g. "
                f"127.0.0.1,10.0.0.0/8, or none (got {part!r})"
            ) from exc
    return tuple(found)


