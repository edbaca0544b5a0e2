"""Certified recipient keys and authenticated transcript heads.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recipient_keys") as batch:
        batch.add_column(sa.Column("certificate", sa.Text(), nullable=True))
    with op.batch_alter_table("transcripts") as batch:
        batch.add_column(sa.Column("head_mac", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transcripts") as batch:
        batch.drop_column("head_mac")
    with op.batch_alter_table("recipient_keys") as batch:
        batch.drop_column("certificate")
