"""Topic and bytes → the parsed model, with a one-pass fast path for the high-rate topics."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from gongfang import wire

# High-rate topics: their model reads the JSON bytes itself (one pass, ~1 µs) instead of
# json.loads + model_validate (~4 µs). A payload that fails this way goes through
# wire.parse_payload as before, which accepts exactly what it always accepted (e.g. a
# UTF-16 or NaN-bearing payload Python's json reads) and gives the usual reason.
_FAST_MODELS: dict[wire.TopicKind, type[BaseModel]] = {
    wire.TopicKind.CLIMATE: wire.Climate,
    wire.TopicKind.SCALE_READING: wire.ScaleReading,
}


def parse(topic: str, payload: bytes) -> tuple[wire.Topic, Any]:
    """:func:`gongfang.wire.parse_payload`, with a one-pass fast path for climate and
    scale readings; raises :class:`gongfang.wire.PayloadError` like it."""
    parsed = wire.parse_topic(topic)
    model = _FAST_MODELS.get(parsed.kind) if parsed is not None else None
    if model is not None and parsed is not None:
        try:
            return parsed, model.model_validate_json(payload)
        except ValidationError:
            pass
    return wire.parse_payload(topic, payload)


def topic_kind(topic: str) -> str:
    """The topic's kind (``"climate"``, …) or ``"unknown"``: what bad payloads are counted by."""
    parsed = wire.parse_topic(topic)
    return parsed.kind.value if parsed is not None else "unknown"
