"""Handoff: staff, the case queue on conversations, outbox destinations, blocked users.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("user_ref", sa.String(64), nullable=False),
        sa.Column("chat_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("languages", sa.String(200), nullable=False, server_default=""),
        sa.Column("focus_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("removed_at", _TIME, nullable=True),
    )
    op.create_index("ix_staff_user", "staff", ["channel", "user_ref"])
    op.create_table(
        "blocked_users",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("user_ref", sa.String(64), primary_key=True),
        sa.Column("public_id", sa.String(16), nullable=False),
        sa.Column("blocked_at", _TIME, nullable=False),
    )
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("case_status", sa.String(16), nullable=True))
        batch.add_column(sa.Column("caseworker_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("interpreter_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("needs", sa.String(200), nullable=True))
        batch.add_column(sa.Column("summary_sealed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("queued_at", _TIME, nullable=True))
        batch.add_column(sa.Column("claimed_at", _TIME, nullable=True))
        batch.add_column(sa.Column("closed_at", _TIME, nullable=True))
        batch.add_column(sa.Column("announced_at", _TIME, nullable=True))
        batch.add_column(sa.Column("announcements", sa.Integer(), nullable=False, server_default="0"))
        batch.create_foreign_key("fk_conversations_caseworker", "staff", ["caseworker_id"], ["id"])
        batch.create_foreign_key("fk_conversations_interpreter", "staff", ["interpreter_id"], ["id"])
    op.create_index("ix_conversations_case", "conversations", ["case_status", "queued_at"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("destination", sa.String(32), nullable=False, server_default="victim"))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("destination")
    op.drop_index("ix_conversations_case", "conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint("fk_conversations_interpreter", type_="foreignkey")
        batch.drop_constraint("fk_conversations_caseworker", type_="foreignkey")
        for column in (
            "announcements", "announced_at", "closed_at", "claimed_at", "queued_at",
            "summary_sealed", "needs", "interpreter_id", "caseworker_id", "case_status",
        ):
            batch.drop_column(column)
    op.drop_table("blocked_users")
    op.drop_index("ix_staff_user", "staff")
    op.drop_table("staff")
