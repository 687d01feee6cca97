"""lot photos, station daily target

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Photos uploaded by the stations (content-addressed: the bytes are on disk by SHA-256),
their links to the lots that name them, and each station's daily intake target in grams.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_photos_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_photos")),
    )
    op.create_table(
        "lot_photos",
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_lot_photos_lot_id_lots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sha256"], ["photos.sha256"], name=op.f("fk_lot_photos_sha256_photos")
        ),
        sa.PrimaryKeyConstraint("lot_id", "sha256", name=op.f("pk_lot_photos")),
    )
    with op.batch_alter_table("lot_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lot_photos_sha256"), ["sha256"], unique=False)
    with op.batch_alter_table("stations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("daily_target_g", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stations", schema=None) as batch_op:
        batch_op.drop_column("daily_target_g")
    with op.batch_alter_table("lot_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lot_photos_sha256"))
    op.drop_table("lot_photos")
    op.drop_table("photos")
