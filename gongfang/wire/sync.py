"""Edge → server sync documents: ``POST /api/v1/sync`` takes a :class:`SyncBatch` and
answers a :class:`SyncAck`.

A lot carries a UUID made at the edge; the server upserts by it (same id, same content →
``duplicate``; same id, other content → ``conflict``, never overwritten).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal, TypedDict, cast

from pydantic import (
    AwareDatetime,
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
    model_validator,
)

from .common import MAX_GROSS_G, MAX_TEMP_C, MIN_TEMP_C, Body, Grade, Ident, Product, Severity
from .passbook import PassbookToken


class GradedBy(Body):
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


class GradedByDoc(TypedDict):
    """:class:`GradedBy` as JSON."""

    kind: Literal["model", "operator"]
    model_name: str | None
    model_version: str | None
    operator: str | None
    reason: str | None


class LotDoc(TypedDict):
    """:meth:`LotRecord.public_doc`: a lot as JSON, without its passbook token (what
    ``…/edge/lot`` carries, with the ``lane``)."""

    id: str
    station: str
    farmer: str
    product: str  # a Product value
    grade: str  # a Grade value
    gross_g: int
    tare_g: int
    net_g: int
    graded_by: GradedByDoc
    items: list[dict[str, Any]]  # per fruit or leaf, as its grader wrote it
    image_hashes: list[str]
    captured_at: str  # ISO 8601 with its UTC offset
    cold_room: str | None
    operator: str | None


class LotRecord(Body):
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
        # captured_at as one instant, whatever zone spelling the edge sent
        doc = {**self.public_doc(), "captured_at": self.captured_at.timestamp()}
        blob = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def public_doc(self) -> LotDoc:
        """The lot as JSON without its passbook token (for MQTT, logs and views)."""
        return cast(LotDoc, self.model_dump(mode="json", exclude={"passbook_token"}))


class AlarmRecord(Body):
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


class ClimateSummary(Body):
    """One room's climate over one minute (``minute_start`` is the minute's UTC start)."""

    station: Ident
    room: Ident
    minute_start: AwareDatetime
    samples: StrictInt = Field(ge=1)
    temp_min_c: StrictFloat
    temp_mean_c: StrictFloat
    temp_max_c: StrictFloat
    rh_mean_pct: StrictFloat = Field(ge=0, le=100)


class LotStay(Body):
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


class SyncBatch(Body):
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


class ItemAck(Body):
    id: str
    result: ItemResult
    message: str = ""


class SyncAck(Body):
    """The server's answer: one entry per lot, alarm and stay (by id), climate counted.

    An edge removes an outbox entry when its result is accepted or duplicate; conflict and
    invalid are kept aside for a person to look at, never retried in a loop.
    """

    lots: list[ItemAck] = Field(default_factory=list)
    alarms: list[ItemAck] = Field(default_factory=list)
    climate_stored: StrictInt = 0
    stays: list[ItemAck] = Field(default_factory=list)  # by lot id; omitted when empty
