"""Wire contracts shared by edge, server and bridge: MQTT topics, payloads, sync bodies.

MQTT topics live under ``gf/v1/{station}`` (DESIGN.md, "Wire contracts"): their names in
:mod:`.topics`, the devices' payloads and :func:`parse_payload` in :mod:`.payloads`.
Edge → server sync is HTTP JSON (:mod:`.sync`): :class:`SyncBatch` in, :class:`SyncAck`
out; server → edge hints come as a :class:`StationDirectory` (:mod:`.directory`). What
they all share (identifiers, limits, products, grades) is in :mod:`.common`, the receipt
QR's key in :mod:`.passbook`.

Callers import from here (``from gongfang import wire``; ``wire.LotRecord``): the package
is the contract, its modules are how it is filed.
"""

from .common import (
    GRADE_ZH,
    MAX_GROSS_G,
    MAX_ROW_ID,
    MAX_TEMP_C,
    MIN_TEMP_C,
    PRODUCT_ZH,
    Grade,
    Ident,
    Product,
    Severity,
    utc_ms,
)
from .directory import ContractHint, FarmerHint, MarketHint, OperatorHint, StationDirectory
from .passbook import PASSBOOK_TOKEN_BYTES, PassbookToken, new_passbook_token, passbook_path
from .payloads import (
    MAX_FRAME_BYTES,
    Climate,
    DeviceStatus,
    Door,
    PayloadError,
    ScaleReading,
    ScannerCode,
    parse_payload,
)
from .sync import (
    MAX_SYNC_ITEMS,
    AlarmRecord,
    ClimateSummary,
    GradedBy,
    GradedByDoc,
    ItemAck,
    ItemResult,
    LotDoc,
    LotRecord,
    LotStay,
    SyncAck,
    SyncBatch,
)
from .topics import PREFIX, Topic, TopicKind, Topics, parse_topic

__all__ = [
    "GRADE_ZH",
    "MAX_FRAME_BYTES",
    "MAX_GROSS_G",
    "MAX_ROW_ID",
    "MAX_SYNC_ITEMS",
    "MAX_TEMP_C",
    "MIN_TEMP_C",
    "PASSBOOK_TOKEN_BYTES",
    "PREFIX",
    "PRODUCT_ZH",
    "AlarmRecord",
    "Climate",
    "ClimateSummary",
    "ContractHint",
    "DeviceStatus",
    "Door",
    "FarmerHint",
    "Grade",
    "GradedBy",
    "GradedByDoc",
    "Ident",
    "ItemAck",
    "ItemResult",
    "LotDoc",
    "LotRecord",
    "LotStay",
    "MarketHint",
    "OperatorHint",
    "PassbookToken",
    "PayloadError",
    "Product",
    "ScaleReading",
    "ScannerCode",
    "Severity",
    "StationDirectory",
    "SyncAck",
    "SyncBatch",
    "Topic",
    "TopicKind",
    "Topics",
    "new_passbook_token",
    "passbook_path",
    "parse_payload",
    "parse_topic",
    "utc_ms",
]
