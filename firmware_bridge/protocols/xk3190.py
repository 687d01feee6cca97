"""耀华 XK3190-A9 continuous output (tF=0), a fixed 12-byte frame sent over and over::

    byte:  0     1      2  3  4  5  6  7   8    9   10   11
         +-----+------+----+--+--+--+--+----+---+----+----+-----+
         | STX | sign | d5 d4 d3 d2 d1 d0 | p | x1 | x0 | ETX |
         | 02  | +/-  | six ASCII digits, | 0…| XOR as two | 03  |
         |     | 2B/2D| high digit first  | 5 | hex digits |     |
         +-----+------+-------------------+---+------------+-----+

``p`` is the number of decimal places; ``x1 x0`` is the XOR of bytes 1…8 (sign to p)
as two ASCII hex digits, high nibble first. DESIGN.md's capture
``02 2B 30 30 31 35 36 30 30 31 39 03`` is ``+001560`` with p = 0: +1560 (in the
indicator's configured unit), XOR 0x19. The frame carries no unit and no stability flag.
"""

from __future__ import annotations

from decimal import Decimal

from firmware_bridge.protocols.frames import StreamDecoder, WeightFrame

STX, ETX = 0x02, 0x03
FRAME_LEN = 12
MAX_DECIMALS = 5
_DIGITS = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789ABCDEFabcdef")


def checksum(body: bytes) -> int:
    """XOR of the bytes from the sign to p."""
    x = 0
    for b in body:
        x ^= b
    return x


def encode(weight: Decimal) -> bytes:
    """Build the frame for ``weight``; its exponent gives p (``Decimal("15.60")`` → p = 2)."""
    sign, digits, exponent = weight.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"not a finite weight: {weight}")
    places = max(0, -exponent)
    if places > MAX_DECIMALS:
        raise ValueError(f"XK3190 shows at most {MAX_DECIMALS} decimals, got {weight}")
    scaled = abs(int(weight.scaleb(places)))
    if scaled > 999_999:
        raise ValueError(f"{weight} does not fit six digits")
    body = (b"-" if sign and scaled else b"+") + f"{scaled:06d}{places}".encode("ascii")
    return bytes([STX]) + body + f"{checksum(body):02X}".encode("ascii") + bytes([ETX])


def _prefix_ok(buf: bytes) -> bool:
    """Whether the bytes seen so far (buf[0] is STX) can still become a frame."""
    for i, b in enumerate(buf[1:FRAME_LEN], start=1):
        if i == 1:
            ok = b in b"+-"
        elif i <= 7:
            ok = b in _DIGITS
        elif i == 8:
            ok = ord("0") <= b <= ord("0") + MAX_DECIMALS
        elif i <= 10:
            ok = b in _HEX
        else:
            ok = b == ETX
        if not ok:
            return False
    return True


def decode_detailed(buf: bytes) -> tuple[int, WeightFrame | None, str | None]:
    """Like :func:`decode`, also saying why dropped bytes were dropped."""
    start = buf.find(STX)
    if start < 0:
        return len(buf), None, "garbage"
    if start > 0:
        return start, None, "garbage"
    if not _prefix_ok(buf):
        return 1, None, "garbage"  # drop this STX only: a real one may follow inside
    if len(buf) < FRAME_LEN:
        return 0, None, None
    body = buf[1:9]
    if int(buf[9:11], 16) != checksum(body):
        return FRAME_LEN, None, "checksum"
    negative = body[0] == ord("-")
    places = body[7] - ord("0")
    digits = tuple(b - ord("0") for b in body[1:7])
    weight = Decimal((1 if negative else 0, digits, -places))
    return FRAME_LEN, WeightFrame(weight=weight, unit=None, status=None), None


def decode(buf: bytes) -> tuple[int, WeightFrame | None]:
    """Decode one frame from the start of ``buf``: (consumed, frame); 0 = need more bytes."""
    consumed, frame, _ = decode_detailed(buf)
    return consumed, frame


def decoder() -> StreamDecoder[WeightFrame]:
    """A buffering decoder with drop counters."""
    return StreamDecoder(decode_detailed, name="xk3190")
