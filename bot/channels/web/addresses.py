"""Who is asking, as far as limits go: the client's address, kept only as a keyed pseudonym.

Behind the operator's TLS proxy every request comes from the proxy; its
`X-Forwarded-For` is believed only when the request comes from one of
`ACCUEIL_WEB_TRUSTED_PROXIES`, and the address taken is the last one no
trusted proxy added. The address itself is never kept: only
`ServerKey.pseudonym("web-address", address)`, in memory.

Per address: the same flood limit as per person (`ACCUEIL_FLOOD_BURST`,
`ACCUEIL_FLOOD_PER_MINUTE`) times `SHARED` (a shelter's or a school's network
holds several people), and `ACCUEIL_CONVERSATIONS_PER_DAY` conversations a day.
"""

from __future__ import annotations

import ipaddress
import time
from collections import deque
from collections.abc import Callable, Sequence

from bot.conversation.limits import FloodLimiter, Limits, Verdict
from storage.crypto import ServerKey

#: How many people one address is allowed to stand for.
SHARED = 5
DAY = 24 * 3600.0


def client_address(remote: str | None, forwarded: str | None, trusted: Sequence[str]) -> str:
    """The address a request came from, believing `X-Forwarded-For` from trusted proxies only."""
    networks = [ipaddress.ip_network(net) for net in trusted]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in networks)

    address = remote or "unknown"
    if not forwarded or not is_trusted(address):
        return address
    for hop in reversed([part.strip() for part in forwarded.split(",")]):
        if not hop:
            continue
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a garbled header: count the proxy itself
        if not is_trusted(hop):
            return hop
        address = hop
    return address


class AddressLimits:
    def __init__(self, keys: ServerKey, limits: Limits, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.keys = keys
        self.monotonic = monotonic
        self.per_day = limits.conversations_per_day
        self.flood = FloodLimiter(limits.flood_burst * SHARED, limits.flood_per_minute * SHARED)
        self._opened: dict[str, deque[float]] = {}

    def pseudonym(self, address: str) -> str:
        return self.keys.pseudonym("web-address", address)

    def allow_request(self, ref: str) -> bool:
        """One more request from this address now (quick exits are never counted here)."""
        return self.flood.check(("web-address", ref), self.monotonic()) is Verdict.ALLOW

    def open_conversation(self, ref: str) -> bool:
        """Count a new conversation for this address; False when it already opened its day's share."""
        now = self.monotonic()
        opened = self._opened.setdefault(ref, deque())
        while opened and now - opened[0] > DAY:
            opened.popleft()
        if len(opened) >= self.per_day:
            return False
        opened.append(now)
        return True

    def tidy(self) -> None:
        now = self.monotonic()
        for ref in [r for r, opened in self._opened.items() if not opened or now - opened[-1] > DAY]:
            del self._opened[ref]
        self.flood.calmed(now)
