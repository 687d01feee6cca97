"""console PINs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

An operator's station-console PIN, as an Argon2 hash (NULL: none set). The station
directory hands the hashes of a cooperative's operators to its stations.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("pin_hash", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("pin_hash")
