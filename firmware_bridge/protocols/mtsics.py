"""Mettler Toledo MT-SICS: ASCII command/response lines, each ending CR LF::

    host -> scale:  S CR LF            send the stable weight
                    SI CR LF           send the weight now (stable or not)
                    SIR CR LF          send the weight now and repeatedly
                    Z CR LF            zero          T CR LF   tare

    scale -> host:  +---+---+---+------------+---+------+----+----+
                    | S | _ | S | value      | _ | unit | CR | LF |
                    +---+---+---+------------+---+------+----+----+
                    command, space, status, value right-aligned in 10 chars, unit

    e.g.  "S S   -0.00102 g"   stable           "S D    123.45 g"   dynamic (SI/SIR)
          "S I"   not executable now            "S +" overload      "S -" underload
          "Z A"   zeroed   "Z I" / "Z +" / "Z -" zero refused
          "T S    100.00 g"  tared (the tare)   "T I" / "T +" / "T -" tare refused
          "ES" syntax error   "ET" transmission error   "EL" logical error

Weight replies (to S, SI, SIR) become a :class:`WeightFrame`; everything else a
:class:`SicsReply`. Units are kept as sent; odd ones such as ``lb:oz`` (value ``L:O``,
pounds and ounces) are decoded to ounces rather than choking the decoder. A line that
is not a reply is dropped, but a reply at its end (after line noise) is still found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from firmware_bridge.protocols.frames import StreamDecoder, WeightFrame, WeightStatus

COMMANDS = ("S", "SI", "SIR", "Z", "T")
MAX_LINE = 128
VALUE_WIDTH = 10

_WEIGHT_STATUS: dict[str, WeightStatus] = {
    "S": "stable",
    "D": "dynamic",
    "+": "overload",
    "-": "underload",
    "I": "error",
}
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_LBOZ = r"[-+]?\d+:\d+(?:\.\d*)?"
_UNIT = r"[!-~]{1,8}"  # printable ASCII without space: g, kg, lb, oz, lb:oz, ozt, dwt…
_WEIGHT_RE = re.compile(rf"(S|SI|SIR) ([SD]) +({_LBOZ}|{_NUM}) +({_UNIT})")
_NOVALUE_RE = re.compile(r"(S|SI|SIR) ([I+-])")
_ZERO_RE = re.compile(r"Z ([AI+-])")
_TARE_RE = re.compile(rf"T (?:S +({_NUM}) +({_UNIT})|([I+-]))")
_ERROR_RE = re.compile(r"E([STL])")
_STARTS = frozenset(b"SZTE")


@dataclass(frozen=True, slots=True)
class SicsReply:
    """A reply that is not a weight: zero, tare, or an error line.

    ``command`` is ``Z``, ``T`` or ``E``; ``code`` the status letter (``A`` done, ``S``
    tare stored, ``I`` not executable, ``+``/``-`` out of range; for ``E`` one of
    ``S`` syntax, ``T`` transmission, ``L`` logical). A tare reply carries its weight.
    """

    command: str
    code: str
    weight: Decimal | None = None
    unit: str | None = None


Frame = WeightFrame | SicsReply


def encode_command(command: str) -> bytes:
    """The bytes for one host command (``S``, ``SI``, ``SIR``, ``Z`` or ``T``)."""
    if command not in COMMANDS:
        raise ValueError(f"unknown MT-SICS command {command!r}; known: {', '.join(COMMANDS)}")
    return command.encode("ascii") + b"\r\n"


def format_value(weight: Decimal) -> str:
    """A value right-aligned in the 10-character field."""
    return f"{weight:>{VALUE_WIDTH}}"


def encode_weight(command: str, status: WeightStatus, weight: Decimal | None, unit: str) -> bytes:
    """A scale's weight reply, e.g. ``S S   -0.00102 g`` (used by the simulated scale)."""
    letter = {v: k for k, v in _WEIGHT_STATUS.items()}[status]
    if letter in "SD":
        if weight is None:
            raise ValueError("a stable or dynamic reply needs a weight")
        return f"{command} {letter} {format_value(weight)} {unit}\r\n".encode("ascii")
    return f"{command} {letter}\r\n".encode("ascii")


def encode_reply(reply: SicsReply) -> bytes:
    """A non-weight reply line (zero, tare, error)."""
    if reply.command == "E":
        return f"E{reply.code}\r\n".encode("ascii")
    if reply.command == "T" and reply.code == "S" and reply.weight is not None:
        return f"T S {format_value(reply.weight)} {reply.unit}\r\n".encode("ascii")
    return f"{reply.command} {reply.code}\r\n".encode("ascii")


def _lb_oz(value: str) -> Decimal:
    pounds, ounces = value.split(":")
    negative = pounds.startswith("-")
    total = abs(Decimal(pounds)) * 16 + Decimal(ounces)
    return -total if negative else total


def parse_line(text: str) -> Frame | None:
    """Parse one line (without CR LF); ``None`` if it is not an MT-SICS reply."""
    if m := _WEIGHT_RE.fullmatch(text):
        _, letter, value, unit = m.groups()
        try:
            if ":" in value:
                if unit != "lb:oz":
                    return None
                return WeightFrame(_lb_oz(value), "oz", _WEIGHT_STATUS[letter])
            return WeightFrame(Decimal(value), unit, _WEIGHT_STATUS[letter])
        except InvalidOperation:
            return None
    if m := _NOVALUE_RE.fullmatch(text):
        return WeightFrame(None, None, _WEIGHT_STATUS[m.group(2)])
    if m := _ZERO_RE.fullmatch(text):
        return SicsReply("Z", m.group(1))
    if m := _TARE_RE.fullmatch(text):
        value, unit, code = m.groups()
        if code:
            return SicsReply("T", code)
        return SicsReply("T", "S", Decimal(value), unit)
    if m := _ERROR_RE.fullmatch(text):
        return SicsReply("E", m.group(1))
    return None


def decode_detailed(buf: bytes) -> tuple[int, Frame | None, str | None]:
    """Like :func:`decode`, also saying why dropped bytes were dropped."""
    end = buf.find(b"\n")
    if end < 0:
        if len(buf) > MAX_LINE:  # no line end in sight: keep only a possible reply start
            return len(buf) - MAX_LINE, None, "overlong"
        return 0, None, None
    line = buf[:end].rstrip(b"\r")
    # Leftmost reply at the end of the line: noise before a reply is dropped separately.
    for start in range(len(line)):
        if line[start] not in _STARTS:
            continue
        try:
            text = line[start:].decode("ascii")
        except UnicodeDecodeError:
            continue
        frame = parse_line(text)
        if frame is not None:
            if start > 0:
                return start, None, "garbage"
            return end + 1, frame, None
    return end + 1, None, "bad_line"


def decode(buf: bytes) -> tuple[int, Frame | None]:
    """Decode one reply line from the start of ``buf``: (consumed, frame); 0 = need more."""
    consumed, frame, _ = decode_detailed(buf)
    return consumed, frame


def decoder() -> StreamDecoder[Frame]:
    """A buffering decoder with drop counters."""
    return StreamDecoder(decode_detailed, name="mtsics")
