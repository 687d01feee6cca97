"""alarm acknowledgements

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Who acknowledged a cold-room alarm on the station console, and when (synced with the
alarm's record; an alarm nobody acknowledged keeps both NULL).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alarms") as batch:
        batch.add_column(sa.Column("acked_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alarms") as batch:
        batch.drop_column("acked_at")
        batch.drop_column("acked_by")
