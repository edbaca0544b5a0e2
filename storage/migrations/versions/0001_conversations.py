"""Conversations, processed updates and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("public_id", sa.String(16), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("user_ref", sa.String(64), nullable=False),
        sa.Column("chat_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("state_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
    )
    op.create_index("ix_conversations_user", "conversations", ["channel", "user_ref", "status"])
    op.create_table(
        "processed_updates",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("update_key", sa.String(64), primary_key=True),
        sa.Column("handled_at", _WHEN, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("conversation_id", _ID, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=True),
        sa.Column("payload_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _WHEN, nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("sent_at", _WHEN, nullable=True),
        sa.Column("message_ref", sa.String(32), nullable=True),
    )
    op.create_index("ix_outbox_pending", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_conversation", "outbox", ["conversation_id", "id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("processed_updates")
    op.drop_index("ix_conversations_user", table_name="conversations")
    op.drop_table("conversations")
