"""Quick exit: the victim's message ids, and the mark on the case.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("quick_exit", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "inbound_messages",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("conversation_id", _ID, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("message_ref", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_inbound_messages_conversation", "inbound_messages", ["conversation_id", "received_at"])


def downgrade() -> None:
    op.drop_table("inbound_messages")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("quick_exit")
