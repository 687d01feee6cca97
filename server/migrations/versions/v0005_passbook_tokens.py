"""passbook tokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

The farmer passbook's keys: the SHA-256 of each receipt QR token (never the token), one
per lot, revocable per farmer; and each farmer's last revocation, so a token that reaches
the server late (an offline station) for a lot captured before it is born revoked.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "passbook_tokens",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("farmer_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["lots.id"],
            name=op.f("fk_passbook_tokens_lot_id_lots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["farmer_id"], ["farmers.id"], name=op.f("fk_passbook_tokens_farmer_id_farmers")
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_passbook_tokens")),
        sa.UniqueConstraint("lot_id", name=op.f("uq_passbook_tokens_lot_id")),
    )
    op.create_index(
        op.f("ix_passbook_tokens_farmer_id"), "passbook_tokens", ["farmer_id"], unique=False
    )
    op.create_table(
        "passbook_revocations",
        sa.Column("farmer_id", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["farmer_id"], ["farmers.id"], name=op.f("fk_passbook_revocations_farmer_id_farmers")
        ),
        sa.PrimaryKeyConstraint("farmer_id", name=op.f("pk_passbook_revocations")),
    )


def downgrade() -> None:
    op.drop_table("passbook_revocations")
    op.drop_index(op.f("ix_passbook_tokens_farmer_id"), table_name="passbook_tokens")
    op.drop_table("passbook_tokens")
