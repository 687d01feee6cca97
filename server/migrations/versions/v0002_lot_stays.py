"""lot stays

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

A lot's closed cold-room stay as synced from the edge (excursions, MKT, remaining shelf
life), one row per lot, stored once like the lot itself.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lot_stays",
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("excursions", sa.Integer(), nullable=False),
        sa.Column("minutes_above_max_c", sa.Integer(), nullable=False),
        sa.Column("minutes_below_min_c", sa.Integer(), nullable=False),
        sa.Column("temp_peak_c", sa.Float(), nullable=True),
        sa.Column("mkt_c", sa.Float(), nullable=True),
        sa.Column("data_coverage_pct", sa.Float(), nullable=False),
        sa.Column("remaining_shelf_life_h", sa.Float(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_lot_stays_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_lot_stays_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("lot_id", name=op.f("pk_lot_stays")),
    )


def downgrade() -> None:
    op.drop_table("lot_stays")
