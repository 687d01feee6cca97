"""Frames the protocol parsers return, and the buffering decoder that counts what it drops."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, Literal, TypeVar

log = logging.getLogger(__name__)

WeightStatus = Literal["stable", "dynamic", "overload", "underload", "error"]


@dataclass(frozen=True, slots=True)
class WeightFrame:
    """One weight report from a scale.

    ``weight`` is signed, in ``unit`` (or the configured unit when the protocol carries
    none), with exactly the decimals the frame gave; ``None`` when the scale reports no
    value (overload, underload, "not executable"). ``status`` is ``None`` for protocols
    without a stability flag (XK3190 continuous output: the edge's detector decides).
    """

    weight: Decimal | None
    unit: str | None
    status: WeightStatus | None


T = TypeVar("T")
#: A decoder: (consumed, frame or None, why the bytes were dropped or None).
DetailedDecode = Callable[[bytes], tuple[int, T | None, str | None]]

#: A buffer that grows beyond this without yielding a frame is trimmed (garbage flood).
MAX_BUFFER = 4096


class StreamDecoder(Generic[T]):
    """Feeds bytes to a pure decoder; keeps the unconsumed tail; counts drops by reason."""

    def __init__(self, decode: DetailedDecode[T], name: str = "decoder") -> None:
        self._decode = decode
        self._buf = b""
        self.name = name
        self.frames = 0
        self.dropped_bytes = 0
        self.dropped: Counter[str] = Counter()  # reason -> number of drops

    def feed(self, data: bytes) -> list[T]:
        """Add bytes; return every complete frame now decodable, in order."""
        self._buf += data
        out: list[T] = []
        while self._buf:
            consumed, frame, reason = self._decode(self._buf)
            if consumed == 0:
                break
            if frame is None:
                self.dropped_bytes += consumed
                self.dropped[reason or "garbage"] += 1
                log.debug("%s dropped %d bytes (%s)", self.name, consumed, reason)
            else:
                self.frames += 1
                out.append(frame)
            self._buf = self._buf[consumed:]
        if len(self._buf) > MAX_BUFFER:
            cut = len(self._buf) - MAX_BUFFER // 4
            self.dropped_bytes += cut
            self.dropped["overflow"] += 1
            self._buf = self._buf[cut:]
        return out

    def reset(self) -> None:
        """Forget a half-received frame (the port was reopened); keep the counters."""
        self._buf = b""

    @property
    def pending(self) -> bytes:
        """Bytes held back waiting for the rest of a frame."""
        return self._buf
