"""A small proof of work when a session starts, instead of a CAPTCHA from someone else.

The server hands out a challenge signed with a key of this process, valid for
a few minutes and good once; the page finds a counter such that
SHA-256(challenge ":" counter) starts with `bits` zero bits (WebCrypto, in the
page). A person does not notice it; a script opening thousands of sessions pays
for each one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

#: Leading zero bits asked for: about 16 000 hashes, well under a second in a phone's browser.
BITS = 14
LIFETIME = 300.0


class ProofOfWork:
    def __init__(self, bits: int = BITS, *, clock: Callable[[], float] = time.time) -> None:
        self.bits = bits
        self.clock = clock
        self._key = secrets.token_bytes(32)
        self._used: dict[str, float] = {}

    def challenge(self) -> str:
        expires = int(self.clock() + LIFETIME)
        body = f"{expires}.{self.bits}.{secrets.token_hex(12)}"
        return f"{body}.{self._mac(body)}"

    def check(self, challenge: str, answer: str) -> str | None:
        """None when `answer` solves `challenge`; otherwise what is wrong, in a sentence."""
        parts = challenge.split(".")
        if len(parts) != 4 or not answer.isdigit() or len(answer) > 20:
            return "The start-up check is malformed. Please reload the page."
        expires, bits, _, mac = parts
        if not hmac.compare_digest(mac, self._mac(".".join(parts[:3]))) or not expires.isdigit():
            return "The start-up check is not one of ours. Please reload the page."
        now = self.clock()
        if int(expires) < now:
            return "The start-up check has expired. Please reload the page."
        if challenge in self._used:
            return "The start-up check was already used. Please reload the page."
        digest = hashlib.sha256(f"{challenge}:{answer}".encode()).digest()
        if leading_zero_bits(digest) < int(bits):
            return "The start-up check was not solved. Please reload the page."
        self._used[challenge] = float(expires)
        for used, until in list(self._used.items()):
            if until < now:
                del self._used[used]
        return None

    def _mac(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:32]


def leading_zero_bits(digest: bytes) -> int:
    count = 0
    for byte in digest:
        if byte == 0:
            count += 8
            continue
        return count + 8 - byte.bit_length()
    return count


def solve(challenge: str, bits: int) -> str:
    """What the page does, in Python (for tests and scripts)."""
    counter = 0
    while leading_zero_bits(hashlib.sha256(f"{challenge}:{counter}".encode()).digest()) < bits:
        counter += 1
    return str(counter)
