"""station keys revocable, users disabled, tokens revoked

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

``stations.key_revoked_at``: when an admin revoked the station's key (its hash is then
NULL). ``users.disabled_at``: set while the user is disabled. ``users.token_version``:
carried in every token and checked on every request; bumped on a password change or a
disable, so earlier tokens stop working at once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stations") as batch:
        batch.add_column(sa.Column("key_revoked_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_version")
        batch.drop_column("disabled_at")
    with op.batch_alter_table("stations") as batch:
        batch.drop_column("key_revoked_at")
