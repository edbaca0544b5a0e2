"""Recipient keys and sealed transcripts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WHEN = sa.DateTime(timezone=True)


def _conversation() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("conversation_id", _ID, sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "recipient_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("revoked_at", _WHEN, nullable=True),
    )
    op.create_table(
        "transcripts",
        _conversation(),
        sa.Column("chain_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("next_seq", sa.Integer(), nullable=False),
        sa.Column("last_digest", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "transcript_keys",
        _conversation(),
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "transcript_entries",
        _conversation(),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("transcript_entries")
    op.drop_table("transcript_keys")
    op.drop_table("transcripts")
    op.drop_table("recipient_keys")
