"""Alembic environment: runs on the connection `storage.db.upgrade` hands over."""

from __future__ import annotations

from alembic import context

from storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through storage.db.upgrade
    raise RuntimeError("run migrations with `accueil db upgrade`")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
