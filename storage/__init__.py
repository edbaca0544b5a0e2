"""Persistence: models, repository functions, migrations and sealing.

Repository functions take an `AsyncSession` and never commit: the caller owns
the transaction. `storage.crypto` is the one module that imports
`cryptography.hazmat`.
"""
