"""Checks `accueil run` makes before it serves anyone; each refusal is one line naming the fix.

- No recipient private key may lie under the data directory: the bot holds public keys only.
  Files are recognised by content, whatever their name (`keyfiles.private_keys_under` says how,
  and which files it never opens).
- With a Telegram token, no active recipient key may be the development key that `make run`
  registers (label "DEVELOPMENT ONLY", its passphrase stored beside it): real people's words
  would be readable by whoever has that folder. `--allow-development-key` overrides it for a
  trial against a test bot.
- Recipient keys the association did not certify are named, one log line each, and nothing is
  wrapped to them; with no association key pinned (ACCUEIL_ASSOCIATION_KEY), one warning says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.app.settings import Settings
from bot.errors import ConfigError
from bot.transcript import certificates, keyfiles
from storage.models import RecipientKey

log = logging.getLogger(__name__)

#: The label `make run` gives the key whose passphrase it writes beside it.
DEVELOPMENT_LABEL = "DEVELOPMENT ONLY"


def private_keys_in(settings: Settings) -> list[Path]:
    """Recipient private key files under the data directory, the live database's files left unopened."""
    url = make_url(settings.database_url)
    databases = []
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        databases.append(Path(url.database))
    return keyfiles.private_keys_under(settings.data_dir, databases)


def refuse_development_key(active: Sequence[RecipientKey]) -> None:
    """With a Telegram token, refuse to start while the development key may read transcripts."""
    for key in active:
        if DEVELOPMENT_LABEL in key.label.upper():
            raise ConfigError(
                f"the recipient key {key.key_id} is the development key ({key.label}), whose passphrase lies "
                "beside it: register a caseworker's key (`accueil keys add FILE.pub`), then "
                f"`accueil keys revoke {key.key_id}`; or, for a test bot only, run with --allow-development-key"
            )


def report_certificates(active: Sequence[RecipientKey], settings: Settings) -> None:
    """At start: one log line per active key without a valid certificate, or one if nothing is pinned."""
    if settings.association_key is None:
        log.warning(
            "no association key is pinned (%s): transcripts are wrapped to every registered key, certified or "
            "not; run `accueil keys init --association --out FILE` on an offline machine and pin what it prints",
            certificates.SETTING,
        )
        return
    certificates.accepted(active, settings.association_key)
