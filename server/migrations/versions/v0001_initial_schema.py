"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24

The whole first schema. Besides the tables: triggers that make ``audit_log`` append-only
and ``paid_lots`` (what approved payouts paid) append-only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "cooperatives",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cooperatives")),
    )
    op.create_table(
        "daily_aggregates",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("product", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("lots", sa.Integer(), nullable=False),
        sa.Column("net_g", sa.BigInteger(), nullable=False),
        sa.Column("unpriced_lots", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "station_id", "product", "grade", name=op.f("pk_daily_aggregates")
        ),
    )
    op.create_table(
        "buyers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("cooperative_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperatives.id"],
            name=op.f("fk_buyers_cooperative_id_cooperatives"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyers")),
    )
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_buyers_cooperative_id"), ["cooperative_id"], unique=False
        )

    op.create_table(
        "farmers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("cooperative_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("household", sa.String(length=200), nullable=True),
        sa.Column("village", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("low_income", sa.Boolean(), nullable=False),
        sa.Column("bank_account", sa.String(length=64), nullable=True),
        sa.Column("card_code", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperatives.id"],
            name=op.f("fk_farmers_cooperative_id_cooperatives"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_farmers")),
        sa.UniqueConstraint("card_code", name=op.f("uq_farmers_card_code")),
    )
    with op.batch_alter_table("farmers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_farmers_cooperative_id"), ["cooperative_id"], unique=False
        )

    op.create_table(
        "market_prices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cooperative_id", sa.String(length=64), nullable=False),
        sa.Column("product", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("fen_per_kg", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperatives.id"],
            name=op.f("fk_market_prices_cooperative_id_cooperatives"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_prices")),
        sa.UniqueConstraint(
            "cooperative_id",
            "product",
            "grade",
            "day",
            name=op.f("uq_market_prices_cooperative_id"),
        ),
    )
    op.create_table(
        "payout_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cooperative_id", sa.String(length=64), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snapshot_lots", sa.Integer(), nullable=False),
        sa.Column("snapshot_amount_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperatives.id"],
            name=op.f("fk_payout_runs_cooperative_id_cooperatives"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_runs")),
    )
    with op.batch_alter_table("payout_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payout_runs_cooperative_id"), ["cooperative_id"], unique=False
        )

    op.create_table(
        "stations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("cooperative_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("api_key_hash", sa.String(length=64), nullable=True),
        sa.Column("key_issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperatives.id"],
            name=op.f("fk_stations_cooperative_id_cooperatives"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
        sa.UniqueConstraint("api_key_hash", name=op.f("uq_stations_api_key_hash")),
    )
    with op.batch_alter_table("stations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stations_cooperative_id"), ["cooperative_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("cooperative_id", sa.String(length=64), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperatives.id"],
            name=op.f("fk_users_cooperative_id_cooperatives"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("peak_value", sa.Float(), nullable=True),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_alarms_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
    )
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alarms_station_id"), ["station_id"], unique=False)

    op.create_table(
        "climate_minutes",
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("minute_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("temp_min_c", sa.Float(), nullable=False),
        sa.Column("temp_mean_c", sa.Float(), nullable=False),
        sa.Column("temp_max_c", sa.Float(), nullable=False),
        sa.Column("rh_mean_pct", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_climate_minutes_station_id_stations")
        ),
        sa.PrimaryKeyConstraint(
            "station_id", "room", "minute_start", name=op.f("pk_climate_minutes")
        ),
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("farmer_id", sa.String(length=64), nullable=False),
        sa.Column("product", sa.String(length=16), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("floor_extra_fen_per_kg", sa.Integer(), nullable=True),
        sa.Column("floor_class_i_fen_per_kg", sa.Integer(), nullable=True),
        sa.Column("floor_class_ii_fen_per_kg", sa.Integer(), nullable=True),
        sa.Column("premium_pct", sa.String(length=16), nullable=True),
        sa.Column("quota_g", sa.BigInteger(), nullable=True),
        sa.Column("reject_fen_per_kg", sa.Integer(), nullable=False),
        sa.Column("quota_used_g", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["farmer_id"], ["farmers.id"], name=op.f("fk_contracts_farmer_id_farmers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
    )
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contracts_farmer_id"), ["farmer_id"], unique=False)

    op.create_table(
        "payout_adjustments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("farmer_id", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["farmer_id"], ["farmers.id"], name=op.f("fk_payout_adjustments_farmer_id_farmers")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["payout_runs.id"],
            name=op.f("fk_payout_adjustments_run_id_payout_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_adjustments")),
    )
    with op.batch_alter_table("payout_adjustments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payout_adjustments_run_id"), ["run_id"], unique=False)

    op.create_table(
        "lots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("farmer_id", sa.String(length=64), nullable=False),
        sa.Column("cooperative_id", sa.String(length=64), nullable=False),
        sa.Column("product", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("gross_g", sa.Integer(), nullable=False),
        sa.Column("tare_g", sa.Integer(), nullable=False),
        sa.Column("net_g", sa.Integer(), nullable=False),
        sa.Column("graded_by", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("image_hashes", sa.JSON(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("intake_date", sa.Date(), nullable=False),
        sa.Column("cold_room", sa.String(length=64), nullable=True),
        sa.Column("operator", sa.String(length=100), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contract_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("unpriced_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_lots_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperatives.id"],
            name=op.f("fk_lots_cooperative_id_cooperatives"),
        ),
        sa.ForeignKeyConstraint(
            ["farmer_id"], ["farmers.id"], name=op.f("fk_lots_farmer_id_farmers")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_lots_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots")),
    )
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lots_coop_status_date", ["cooperative_id", "status", "intake_date"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_lots_farmer_id"), ["farmer_id"], unique=False)
        batch_op.create_index("ix_lots_station_date", ["station_id", "intake_date"], unique=False)

    op.create_table(
        "lot_parts",
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("part_no", sa.Integer(), nullable=False),
        sa.Column("net_g", sa.Integer(), nullable=False),
        sa.Column("unit_fen_per_kg", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("market_day", sa.Date(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_lot_parts_lot_id_lots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("lot_id", "part_no", name=op.f("pk_lot_parts")),
    )
    op.create_table(
        "paid_lots",
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("farmer_id", sa.String(length=64), nullable=False),
        sa.Column("net_g", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_paid_lots_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["payout_runs.id"], name=op.f("fk_paid_lots_run_id_payout_runs")
        ),
        sa.PrimaryKeyConstraint("lot_id", name=op.f("pk_paid_lots")),
    )
    op.create_index(op.f("ix_paid_lots_run_id"), "paid_lots", ["run_id"], unique=False)

    _create_triggers()


_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER {table}_no_{op_} BEFORE {op_.upper()} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    for table in ("audit_log", "paid_lots")
    for op_ in ("update", "delete")
]
_PG_TRIGGERS = [
    "CREATE FUNCTION gf_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION gf_append_only()",
    "CREATE TRIGGER paid_lots_append_only BEFORE UPDATE OR DELETE ON paid_lots "
    "FOR EACH ROW EXECUTE FUNCTION gf_append_only()",
]


def _create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for stmt in _SQLITE_TRIGGERS if dialect == "sqlite" else _PG_TRIGGERS:
        op.execute(stmt)


def downgrade() -> None:
    op.drop_index(op.f("ix_paid_lots_run_id"), table_name="paid_lots")
    op.drop_table("paid_lots")
    op.drop_table("lot_parts")
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_index("ix_lots_station_date")
        batch_op.drop_index(batch_op.f("ix_lots_farmer_id"))
        batch_op.drop_index("ix_lots_coop_status_date")

    op.drop_table("lots")
    with op.batch_alter_table("payout_adjustments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payout_adjustments_run_id"))

    op.drop_table("payout_adjustments")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contracts_farmer_id"))

    op.drop_table("contracts")
    op.drop_table("climate_minutes")
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alarms_station_id"))

    op.drop_table("alarms")
    op.drop_table("users")
    with op.batch_alter_table("stations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stations_cooperative_id"))

    op.drop_table("stations")
    with op.batch_alter_table("payout_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payout_runs_cooperative_id"))

    op.drop_table("payout_runs")
    op.drop_table("market_prices")
    with op.batch_alter_table("farmers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_farmers_cooperative_id"))

    op.drop_table("farmers")
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buyers_cooperative_id"))

    op.drop_table("buyers")
    op.drop_table("daily_aggregates")
    op.drop_table("cooperatives")
    op.drop_table("audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS gf_append_only()")
