"""cooperative setting: may one person create and approve a payout run

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Four-eyes by default (DESIGN, money controls): a run is approved by a reviewer other than
its creator, unless the cooperative (a one-person office) allows it; the audit log then
records that it did.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cooperatives") as batch:
        batch.add_column(
            sa.Column(
                "allow_self_approval", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("cooperatives") as batch:
        batch.drop_column("allow_self_approval")
