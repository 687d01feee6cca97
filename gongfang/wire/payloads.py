"""MQTT payloads from the station's devices, and :func:`parse_payload`.

Payload models are frozen pydantic models; :func:`parse_payload` turns raw bytes into one
of them or raises :class:`PayloadError` (which a subscriber counts and logs, never
re-raises).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
)

from .common import MAX_GROSS_G, MAX_TEMP_C, MIN_TEMP_C
from .topics import Topic, TopicKind, parse_topic


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
