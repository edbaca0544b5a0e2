"""The root of Accueil's errors, and those the storage layer raises.

The whole tree is drawn in `bot/errors.py`, which re-exports these; they live here
so that `storage/` depends on nothing of `bot/`.
"""

from __future__ import annotations


class AccueilError(Exception):
    """Root of every error Accueil raises on purpose."""


class ConfigError(AccueilError):
    """A setting is missing or malformed."""


class StorageError(AccueilError):
    """The database cannot be reached, or its schema is not the expected one."""


class SealError(AccueilError):
    """Sealed data could not be opened. Deliberately says nothing more."""


class TranscriptUnreadable(AccueilError):
    """A transcript cannot be read. The one error for every decryption failure."""
