"""The web chat's resume codes (keyed hashes with an expiry).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_resume",
        sa.Column("code_ref", sa.String(64), primary_key=True),
        sa.Column("user_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_resume_expires_at", "web_resume", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_web_resume_expires_at", table_name="web_resume")
    op.drop_table("web_resume")
