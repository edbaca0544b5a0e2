"""Transcripts v2: per-case key pairs per epoch; the chain key leaves the database.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _conversation() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("conversation_id", _ID, sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)


def upgrade() -> None:
    with op.batch_alter_table("transcripts") as batch:
        batch.alter_column("chain_sealed", existing_type=sa.LargeBinary(), nullable=True)
    with op.batch_alter_table("transcript_entries") as batch:
        batch.add_column(sa.Column("epoch", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "transcript_epochs",
        _conversation(),
        sa.Column("epoch", sa.Integer(), primary_key=True),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("binding", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "transcript_epoch_keys",
        _conversation(),
        sa.Column("epoch", sa.Integer(), primary_key=True),
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("transcript_epoch_keys")
    op.drop_table("transcript_epochs")
    with op.batch_alter_table("transcript_entries") as batch:
        batch.drop_column("epoch")
    with op.batch_alter_table("transcripts") as batch:
        batch.alter_column("chain_sealed", existing_type=sa.LargeBinary(), nullable=False)
