"""event claims, so a platform event delivered twice is handled once

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_claims",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "event_id", name="pk_event_claims"),
    )
    with op.batch_alter_table("event_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_claims_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_claims_created_at"))

    op.drop_table("event_claims")
