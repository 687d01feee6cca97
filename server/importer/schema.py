"""The import bundle's JSON Schema, made from the very records the importer checks with.

``python -m server.importer.schema > examples/cooperative.schema.json`` writes it; a test
keeps the committed copy equal to this, so the schema a user's editor validates against
is the importer's own rule (the importer also checks what a schema cannot: references
between records, one contract in force, sealed fields needing a key).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from server.importer.shapes import (
    ContractIn,
    CooperativeIn,
    FarmerIn,
    LotIn,
    MarketPriceIn,
    StationIn,
)


class Bundle(BaseModel):
    """导入包 / a gongfang import bundle: every section optional, imported all or nothing."""

    model_config = ConfigDict(extra="forbid", title="gongfang import bundle")

    cooperatives: list[CooperativeIn] = Field(
        default_factory=list, description="合作社 / cooperatives: id, name"
    )
    stations: list[StationIn] = Field(
        default_factory=list, description="收购站 / stations: id, cooperative, name"
    )
    farmers: list[FarmerIn] = Field(
        default_factory=list,
        description="农户 / farmers; phone and bank_account are sealed under the field key",
    )
    contracts: list[ContractIn] = Field(
        default_factory=list,
        description="收购合同 / contracts: floor fen/kg per grade (保底价), premium_pct as a "
        "decimal string (共富价 = market × (1 + premium)), quota_g, reject_fen_per_kg",
    )
    market_prices: list[MarketPriceIn] = Field(
        default_factory=list, description="市场价 / market prices, fen/kg per grade and day"
    )
    lots: list[LotIn] = Field(
        default_factory=list,
        description="批次 / lots recorded elsewhere (idempotent by id; priced on import)",
    )


def bundle_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of an import bundle."""
    schema = Bundle.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def main() -> None:
    print(json.dumps(bundle_schema(), ensure_ascii=False, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
