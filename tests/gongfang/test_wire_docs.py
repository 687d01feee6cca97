"""The TypedDicts of the wire's JSON documents name exactly the keys the models dump."""

import uuid
from datetime import UTC, datetime

from gongfang import wire


def test_lot_doc_names_the_public_doc_keys() -> None:
    lot = wire.LotRecord(
        id=uuid.UUID(int=1),
        station="s1",
        farmer="f1",
        product=wire.Product.STRAWBERRY,
        grade=wire.Grade.CLASS_I,
        gross_g=5000,
        tare_g=400,
        net_g=4600,
        graded_by=wire.GradedBy(kind="model", model_name="strawberry", model_version="1.0"),
        captured_at=datetime(2026, 3, 1, 2, 15, tzinfo=UTC),
        passbook_token=wire.new_passbook_token(),
    )
    doc = lot.public_doc()
    assert set(doc) == set(wire.LotDoc.__annotations__)
    assert set(doc["graded_by"]) == set(wire.GradedByDoc.__annotations__)
