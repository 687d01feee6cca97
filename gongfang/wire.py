"""Wire contracts shared by edge, server and bridge: MQTT topics, payloads, sync bodies.

MQTT topics live under ``gf/v1/{station}`` (DESIGN.md, "Wire contracts"). Payload models
are frozen pydantic models; :func:`parse_payload` turns raw bytes into one of them or
raises :class:`PayloadError` (which a subscriber counts and logs, never re-raises).

Edge → server sync is HTTP JSON: :class:`SyncBatch` in, :class:`SyncAck` out. A lot carries
a UUID made at the edge; the server upserts by it (same id, same content → ``duplicate``;
same id, other content → ``conflict``, never overwritten).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)

PREFIX = "gf/v1"

# Identifiers for stations, scales, rooms, lanes and devices: safe in a topic level.
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]

MAX_ROW_ID = 2**63 - 1  # SQLite and PostgreSQL integer keys: anything larger is not ours
MAX_GROSS_G = 2_000_000  # 2 t: the largest platform scale a station would use
MIN_TEMP_C, MAX_TEMP_C = -40.0, 85.0  # SHT20's rated range


class Product(StrEnum):
    STRAWBERRY = "strawberry"
    RUOYE = "ruoye"


class Grade(StrEnum):
    EXTRA = "extra"
    CLASS_I = "class_i"
    CLASS_II = "class_ii"
    REJECT = "reject"


GRADE_ZH: dict[Grade, str] = {
    Grade.EXTRA: "特级",
    Grade.CLASS_I: "一级",
    Grade.CLASS_II: "二级",
    Grade.REJECT: "等外",
}
PRODUCT_ZH: dict[Product, str] = {Product.STRAWBERRY: "草莓", Product.RUOYE: "箬叶"}


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"


# ---------------------------------------------------------------- topics


class TopicKind(StrEnum):
    SCALE_READING = "scale_reading"
    SCANNER_CODE = "scanner_code"
    CLIMATE = "climate"
    DOOR = "door"
    CAMERA_FRAME = "camera_frame"
    DEVICE_STATUS = "device_status"
    EDGE_STATUS = "edge_status"
    EDGE_LOT = "edge_lot"
    EDGE_ALARM = "edge_alarm"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic: its kind, station and the id of the scale/room/lane/device."""

    kind: TopicKind
    station: str
    ident: str | None = None


class Topics:
    """Topic names for one station (``+`` works as a wildcard station or id)."""

    def __init__(self, station: str) -> None:
        self.station = station
        self.base = f"{PREFIX}/{station}"

    def scale_reading(self, scale: str = "+") -> str:
        return f"{self.base}/scale/{scale}/reading"

    def scanner_code(self, lane: str = "+") -> str:
        return f"{self.base}/scanner/{lane}/code"

    def climate(self, room: str = "+") -> str:
        return f"{self.base}/coldroom/{room}/climate"

    def door(self, room: str = "+") -> str:
        return f"{self.base}/coldroom/{room}/door"

    def camera_frame(self, lane: str = "+") -> str:
        return f"{self.base}/camera/{lane}/frame"

    def device_status(self, device: str = "+") -> str:
        return f"{self.base}/device/{device}/status"

    @property
    def edge_status(self) -> str:
        return f"{self.base}/edge/status"

    @property
    def edge_lot(self) -> str:
        return f"{self.base}/edge/lot"

    @property
    def edge_alarm(self) -> str:
        return f"{self.base}/edge/alarm"

    def subscriptions(self) -> list[tuple[str, int]]:
        """(filter, QoS) pairs an edge node subscribes to, QoS as in DESIGN.md."""
        return [
            (self.scale_reading(), 0),
            (self.scanner_code(), 1),
            (self.climate(), 1),
            (self.door(), 1),
            (self.camera_frame(), 1),
            (self.device_status(), 1),
        ]


_KINDS_BY_SHAPE: dict[tuple[str, str], TopicKind] = {
    ("scale", "reading"): TopicKind.SCALE_READING,
    ("scanner", "code"): TopicKind.SCANNER_CODE,
    ("coldroom", "climate"): TopicKind.CLIMATE,
    ("coldroom", "door"): TopicKind.DOOR,
    ("camera", "frame"): TopicKind.CAMERA_FRAME,
    ("device", "status"): TopicKind.DEVICE_STATUS,
}
_EDGE_KINDS = {
    "status": TopicKind.EDGE_STATUS,
    "lot": TopicKind.EDGE_LOT,
    "alarm": TopicKind.EDGE_ALARM,
}


def parse_topic(topic: str) -> Topic | None:
    """Parse a gongfang topic name; ``None`` if it is not one of ours."""
    parts = topic.split("/")
    if len(parts) < 5 or f"{parts[0]}/{parts[1]}" != PREFIX:
        return None
    station = parts[2]
    if len(parts) == 5 and parts[3] == "edge":
        edge_kind = _EDGE_KINDS.get(parts[4])
        return None if edge_kind is None else Topic(edge_kind, station)
    if len(parts) == 6:
        kind = _KINDS_BY_SHAPE.get((parts[3], parts[5]))
        return None if kind is None else Topic(kind, station, parts[4])
    return None


# ---------------------------------------------------------------- MQTT payloads


class PayloadError(ValueError):
    """A payload that does not parse or is out of physical range."""

    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(f"{topic}: {reason}")
        self.topic = topic
        self.reason = reason


class _Msg(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=False)

    ts_ms: StrictInt = Field(ge=0, lt=10**14)


class ScaleReading(_Msg):
    """``…/scale/{scale}/reading``: one gross reading; ``stable`` only from scales that say."""

    gross_g: StrictInt = Field(ge=-MAX_GROSS_G, le=MAX_GROSS_G)
    seq: StrictInt = Field(ge=0)
    stable: StrictBool | None = None
    status: Literal["ok", "overload", "underload", "error"] = "ok"


class ScannerCode(_Msg):
    """``…/scanner/{lane}/code``: a farmer card's QR or barcode text."""

    code: str = Field(min_length=1, max_length=512)


class Climate(_Msg):
    """``…/coldroom/{room}/climate``: one temperature/humidity sample."""

    temp_c: StrictFloat = Field(ge=MIN_TEMP_C, le=MAX_TEMP_C, allow_inf_nan=False)
    rh_pct: StrictFloat = Field(ge=0.0, le=100.0, allow_inf_nan=False)
    seq: StrictInt = Field(ge=0)


class Door(_Msg):
    """``…/coldroom/{room}/door``: the door switch changed."""

    open: StrictBool


DeviceStatus = Literal["online", "offline"]
_JSON_MODELS: dict[TopicKind, type[_Msg]] = {
    TopicKind.SCALE_READING: ScaleReading,
    TopicKind.SCANNER_CODE: ScannerCode,
    TopicKind.CLIMATE: Climate,
    TopicKind.DOOR: Door,
}
MAX_FRAME_BYTES = 8 * 1024 * 1024
_JPEG_MAGIC = b"\xff\xd8\xff"


def parse_payload(topic: str, payload: bytes) -> tuple[Topic, Any]:
    """Parse one MQTT message.

    Returns the parsed topic and: a payload model for JSON topics, the raw JPEG bytes for
    camera frames, ``"online"``/``"offline"`` for device status, the decoded JSON for the
    edge's own topics. Raises :class:`PayloadError` for anything else.
    """
    parsed = parse_topic(topic)
    if parsed is None:
        raise PayloadError(topic, "unknown topic")
    if parsed.kind is TopicKind.CAMERA_FRAME:
        if not payload.startswith(_JPEG_MAGIC) or len(payload) > MAX_FRAME_BYTES:
            raise PayloadError(topic, "camera frame is not a JPEG of at most 8 MiB")
        return parsed, payload
    if parsed.kind is TopicKind.DEVICE_STATUS:
        text = payload.decode("utf-8", errors="replace").strip().strip('"')
        if text not in ("online", "offline"):
            raise PayloadError(topic, f"device status must be online/offline, got {text[:40]!r}")
        return parsed, text
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(topic, f"not JSON: {exc}") from None
    model = _JSON_MODELS.get(parsed.kind)
    if model is None:
        return parsed, doc
    if not isinstance(doc, dict):
        raise PayloadError(topic, "payload must be a JSON object")
    try:
        return parsed, model.model_validate(doc)
    except ValidationError as exc:
        raise PayloadError(topic, _brief(exc)) from None


def _brief(exc: ValidationError) -> str:
    errs = exc.errors(include_url=False)
    first = errs[0]
    loc = ".".join(str(p) for p in first["loc"]) or "payload"
    more = f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""
    return f"{loc}: {first['msg']}{more}"


# ---------------------------------------------------------------- edge -> server sync


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GradedBy(_Body):
    """Who graded a lot: a model (name + version) or an operator with a reason."""

    kind: Literal["model", "operator"]
    model_name: str | None = Field(default=None, max_length=100)
    model_version: str | None = Field(default=None, max_length=50)
    operator: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _complete(self) -> GradedBy:
        if self.kind == "model" and not (self.model_name and self.model_version):
            raise ValueError("a model grade needs model_name and model_version")
        if self.kind == "operator" and not (self.operator and self.reason):
            raise ValueError("an operator grade needs operator and reason")
        return self


# ≥ 128 random bits, URL-safe base64 (secrets.token_urlsafe(16) gives 22 characters).
PassbookToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{22,86}$")]
PASSBOOK_TOKEN_BYTES = 16


def new_passbook_token() -> str:
    """A fresh receipt-QR key: 128 bits from the OS's secure random source."""
    return secrets.token_urlsafe(PASSBOOK_TOKEN_BYTES)


def passbook_path(token: str) -> str:
    """The passbook page of a token, relative to a server's public base URL."""
    return f"/p/{token}"


class LotRecord(_Body):
    """One lot as the edge recorded it. Identity is ``id``; content is everything else."""

    id: uuid.UUID
    station: Ident
    farmer: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    product: Product
    grade: Grade
    gross_g: StrictInt = Field(ge=0, le=MAX_GROSS_G)
    tare_g: StrictInt = Field(ge=0, le=MAX_GROSS_G)
    net_g: StrictInt = Field(gt=0, le=MAX_GROSS_G)
    graded_by: GradedBy
    items: list[dict[str, Any]] = Field(default_factory=list, max_length=500)
    image_hashes: list[Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]] = Field(
        default_factory=list, max_length=20
    )
    captured_at: AwareDatetime
    cold_room: Ident | None = None
    operator: str | None = Field(default=None, max_length=100)
    # The receipt QR's passbook key, made at the edge (``new_passbook_token``). A credential,
    # not lot content: left out of the content hash and of what the edge publishes; the
    # server keeps only its SHA-256. Older edges send none.
    passbook_token: PassbookToken | None = None

    @model_validator(mode="after")
    def _net_is_gross_minus_tare(self) -> LotRecord:
        if self.net_g != self.gross_g - self.tare_g:
            raise ValueError(
                f"net_g ({self.net_g}) must equal gross_g − tare_g ({self.gross_g - self.tare_g})"
            )
        return self

    def content_hash(self) -> str:
        """SHA-256 over the canonical JSON of the lot: equal content ⇔ equal hash."""
        doc = self.public_doc()
        doc["captured_at"] = self.captured_at.timestamp()  # one instant, any zone spelling
        blob = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def public_doc(self) -> dict[str, Any]:
        """The lot as JSON without its passbook token (for MQTT, logs and views)."""
        return self.model_dump(mode="json", exclude={"passbook_token"})


class AlarmRecord(_Body):
    """A cold-chain alarm as the edge raised it; re-sent with ``cleared_at`` when it clears
    and with ``acked_by``/``acked_at`` when an operator acknowledges it."""

    id: uuid.UUID
    station: Ident
    room: Ident
    rule: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    severity: Severity
    started_at: AwareDatetime
    updated_at: AwareDatetime
    cleared_at: AwareDatetime | None = None
    peak_value: StrictFloat | None = None
    message: str = Field(default="", max_length=500)
    # Who acknowledged it on the station console, and when (re-sent like a clearing).
    acked_by: str | None = Field(default=None, min_length=1, max_length=100)
    acked_at: AwareDatetime | None = None


class ClimateSummary(_Body):
    """One room's climate over one minute (``minute_start`` is the minute's UTC start)."""

    station: Ident
    room: Ident
    minute_start: AwareDatetime
    samples: StrictInt = Field(ge=1)
    temp_min_c: StrictFloat
    temp_mean_c: StrictFloat
    temp_max_c: StrictFloat
    rh_mean_pct: StrictFloat = Field(ge=0, le=100)


class LotStay(_Body):
    """A lot's closed stay in one cold room, sent once when the lot is dispatched.

    Its own sync kind (lot records are immutable): upserted by ``lot_id`` like a lot, same
    content → ``duplicate``, other content → ``conflict``. Temperatures are °C floats as in
    :class:`ClimateSummary`; estimates the edge could not make (no readings) are ``None``.
    """

    lot_id: uuid.UUID
    station: Ident
    room: Ident
    entered_at: AwareDatetime
    left_at: AwareDatetime
    excursions: StrictInt = Field(ge=0, le=100_000)  # alarm excursions that overlapped the stay
    minutes_above_max_c: StrictInt = Field(ge=0)  # minute means above the room profile's limit
    minutes_below_min_c: StrictInt = Field(ge=0)
    temp_peak_c: StrictFloat | None = Field(default=None, ge=MIN_TEMP_C, le=MAX_TEMP_C)
    mkt_c: StrictFloat | None = Field(default=None, ge=MIN_TEMP_C, le=MAX_TEMP_C)
    data_coverage_pct: StrictFloat = Field(ge=0, le=100)
    remaining_shelf_life_h: StrictFloat | None = Field(default=None, ge=0, le=100_000)

    @model_validator(mode="after")
    def _left_after_entered(self) -> LotStay:
        if self.left_at < self.entered_at:
            raise ValueError("left_at must not be before entered_at")
        return self

    def content_hash(self) -> str:
        """SHA-256 over the canonical JSON of the stay: equal content ⇔ equal hash."""
        doc = self.model_dump(mode="json")
        doc["entered_at"] = self.entered_at.timestamp()
        doc["left_at"] = self.left_at.timestamp()
        blob = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


MAX_SYNC_ITEMS = 1000


class SyncBatch(_Body):
    """``POST /api/v1/sync``: what an edge's outbox sends in one request."""

    station: Ident
    lots: list[LotRecord] = Field(default_factory=list, max_length=MAX_SYNC_ITEMS)
    alarms: list[AlarmRecord] = Field(default_factory=list, max_length=MAX_SYNC_ITEMS)
    climate: list[ClimateSummary] = Field(default_factory=list, max_length=MAX_SYNC_ITEMS)
    # Added after the first release: an older edge leaves it out, an older server refuses
    # it (422), so an edge sends the key only when it has stays to send.
    stays: list[LotStay] = Field(default_factory=list, max_length=MAX_SYNC_ITEMS)


class ItemResult(StrEnum):
    ACCEPTED = "accepted"  # stored now
    DUPLICATE = "duplicate"  # already stored with the same content: acknowledged again
    CONFLICT = "conflict"  # same id, different content: rejected, stored one kept
    INVALID = "invalid"  # refers to something unknown (farmer, station…)


class ItemAck(_Body):
    id: str
    result: ItemResult
    message: str = ""


class SyncAck(_Body):
    """The server's answer: one entry per lot, alarm and stay (by id), climate counted.

    An edge removes an outbox entry when its result is accepted or duplicate; conflict and
    invalid are kept aside for a person to look at, never retried in a loop.
    """

    lots: list[ItemAck] = Field(default_factory=list)
    alarms: list[ItemAck] = Field(default_factory=list)
    climate_stored: StrictInt = 0
    stays: list[ItemAck] = Field(default_factory=list)  # by lot id; omitted when empty


def utc_ms(ts: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    if ts.tzinfo is None:
        raise ValueError("naive datetime: times on the wire are timezone-aware UTC")
    return int(ts.timestamp() * 1000)


# ---------------------------------------------------------------- server -> edge hints


class ContractHint(_Body):
    """What a station needs to estimate a receipt's price under a farmer's contract."""

    product: Product
    valid_from: str  # YYYY-MM-DD
    valid_to: str
    floor_fen_per_kg: dict[Grade, StrictInt] = Field(default_factory=dict)
    premium_pct: str | None = None  # decimal string, e.g. "20"
    reject_fen_per_kg: StrictInt = 0


class FarmerHint(_Body):
    id: str
    name: str
    card_code: str | None = None  # what the farmer card's QR/barcode carries, if not the id
    contracts: list[ContractHint] = Field(default_factory=list)


class MarketHint(_Body):
    product: Product
    grade: Grade
    date: str  # YYYY-MM-DD
    fen_per_kg: StrictInt = Field(ge=0)


class OperatorHint(_Body):
    """A cooperative operator who may sign in on its stations' consoles, with the Argon2
    hash of their console PIN (:mod:`gongfang.pins`); never the PIN itself."""

    name: str = Field(min_length=1, max_length=100)
    pin_hash: str = Field(pattern=r"^\$argon2", max_length=200)


class StationDirectory(_Body):
    """``GET /api/v1/station/directory`` (station API key): farmers of the station's
    cooperative with their contracts, recent market prices, and the operators who have a
    console PIN. Estimates only: the server prices every lot itself when it arrives."""

    station: Ident
    cooperative: str
    farmers: list[FarmerHint] = Field(default_factory=list)
    market: list[MarketHint] = Field(default_factory=list)
    operators: list[OperatorHint] = Field(default_factory=list)
