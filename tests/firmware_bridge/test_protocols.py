"""Protocol parsers against literal byte captures, plus hypothesis fuzzing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.protocols import mtsics, sht20_modbus, xk3190
from firmware_bridge.protocols.frames import WeightFrame, WeightStatus
from firmware_bridge.protocols.mtsics import SicsReply
from firmware_bridge.protocols.sht20_modbus import PRESETS, ClimateFrame, RegistersFrame
from firmware_bridge.protocols.units import to_grams

# ------------------------------------------------------------------ XK3190-A9

DESIGN_CAPTURE = bytes.fromhex("02 2B 30 30 31 35 36 30 30 31 39 03")


@pytest.mark.parametrize(
    ("capture", "weight"),
    [
        (DESIGN_CAPTURE, Decimal("1560")),  # DESIGN.md: p = '0', XOR 0x19
        (b"\x02-00123421B\x03", Decimal("-12.34")),
        (b"\x02+00156021B\x03", Decimal("15.60")),
        (b"\x02+000000318\x03", Decimal("0.000")),
        (b"\x02+02500531A\x03", Decimal("25.005")),
        (b"\x02+00156021b\x03", Decimal("15.60")),  # lower-case hex digits
    ],
)
def test_xk3190_captures(capture: bytes, weight: Decimal) -> None:
    consumed, frame = xk3190.decode(capture)
    assert consumed == 12
    assert frame == WeightFrame(weight=weight, unit=None, status=None)
    assert str(frame.weight) == str(weight)  # the frame's decimals, not just the value


def test_xk3190_design_example_xor_and_decimals() -> None:
    assert xk3190.checksum(DESIGN_CAPTURE[1:9]) == 0x19
    _, frame = xk3190.decode(DESIGN_CAPTURE)
    assert frame is not None
    assert frame.weight is not None
    assert frame.weight.as_tuple().exponent == 0
    assert to_grams(frame.weight, "kg") == 1_560_000
    assert xk3190.encode(Decimal("1560")) == DESIGN_CAPTURE


@pytest.mark.parametrize(
    ("buf", "expected"),
    [
        (b"", (0, None)),
        (b"\x02+0015", (0, None)),  # need more
        (b"\x02+00156001", (0, None)),
        (b"\xff\xfe\x02+0015", (2, None)),  # garbage before STX dropped first
        (b"hello", (5, None)),
        (b"\x02+001560018\x03", (12, None)),  # bad XOR
        (b"\x02+0015\x02+001560019\x03", (1, None)),  # garbage inside: drop that STX
        (b"\x02*001560019\x03", (1, None)),  # bad sign
        (b"\x02+001560919\x03", (1, None)),  # p = 9 is not a decimal count
    ],
)
def test_xk3190_partial_garbage_badxor(buf: bytes, expected: tuple[int, None]) -> None:
    assert xk3190.decode(buf) == expected


def test_xk3190_stream_split_garbage_and_counts() -> None:
    dec = xk3190.decoder()
    stream = (
        b"\x00\xffnoise"
        + DESIGN_CAPTURE
        + b"\x02+0015\x02"  # truncated frame, then a real one starts inside it
        + b"-00123421B\x03"
        + b"\x02+001560018\x03"  # bad XOR
        + b"\x02+00156021B\x03"
    )
    frames = []
    for i in range(0, len(stream), 5):  # split reads
        frames += dec.feed(stream[i : i + 5])
    assert [f.weight for f in frames] == [Decimal("1560"), Decimal("-12.34"), Decimal("15.60")]
    assert dec.frames == 3
    assert dec.dropped["checksum"] == 1
    assert dec.dropped["garbage"] >= 2
    assert dec.dropped_bytes == 7 + 6 + 12
    assert dec.pending == b""


def test_xk3190_byte_by_byte() -> None:
    dec = xk3190.decoder()
    out = [f for b in DESIGN_CAPTURE * 3 for f in dec.feed(bytes([b]))]
    assert len(out) == 3


# ------------------------------------------------------------------ MT-SICS


@pytest.mark.parametrize(
    ("line", "frame"),
    [
        (b"S S   -0.00102 g\r\n", WeightFrame(Decimal("-0.00102"), "g", "stable")),
        (b"S S     12.345 kg\r\n", WeightFrame(Decimal("12.345"), "kg", "stable")),
        (b"S D     12.300 kg\r\n", WeightFrame(Decimal("12.300"), "kg", "dynamic")),
        (b"SI D    100.5 g\r\n", WeightFrame(Decimal("100.5"), "g", "dynamic")),
        (b"SIR S     3.20 lb\r\n", WeightFrame(Decimal("3.20"), "lb", "stable")),
        (b"S S      2:3.5 lb:oz\r\n", WeightFrame(Decimal("35.5"), "oz", "stable")),
        (b"S S  1.0 lb:oz\r\n", WeightFrame(Decimal("1.0"), "lb:oz", "stable")),  # kept as sent
        (b"S S    1.0 ozt\r\n", WeightFrame(Decimal("1.0"), "ozt", "stable")),  # odd unit kept
        (b"S I\r\n", WeightFrame(None, None, "error")),
        (b"S +\r\n", WeightFrame(None, None, "overload")),
        (b"S -\r\n", WeightFrame(None, None, "underload")),
        (b"SI +\r\n", WeightFrame(None, None, "overload")),
        (b"Z A\r\n", SicsReply("Z", "A")),
        (b"Z I\r\n", SicsReply("Z", "I")),
        (b"T S    100.00 g\r\n", SicsReply("T", "S", Decimal("100.00"), "g")),
        (b"T I\r\n", SicsReply("T", "I")),
        (b"ES\r\n", SicsReply("E", "S")),
        (b"ET\r\n", SicsReply("E", "T")),
        (b"EL\r\n", SicsReply("E", "L")),
        (b"S D    5.0 g\n", WeightFrame(Decimal("5.0"), "g", "dynamic")),  # bare LF tolerated
    ],
)
def test_mtsics_captures(line: bytes, frame: object) -> None:
    assert mtsics.decode(line) == (len(line), frame)


@pytest.mark.parametrize(
    ("buf", "expected"),
    [
        (b"S S    12.3", (0, None)),  # need more
        (b"S X     1.0 g\r\n", (15, None)),  # not a reply: the whole line dropped
        (b"\xff\x00S S   1.0 g\r\n", (2, None)),  # noise before a reply dropped first
        (b"S S S S    1.0 g\r\n", (4, None)),  # noise that looks like a start
    ],
)
def test_mtsics_garbage(buf: bytes, expected: tuple[int, None]) -> None:
    assert mtsics.decode(buf) == expected


def test_mtsics_stream_split() -> None:
    dec = mtsics.decoder()
    stream = b"\x13\x11garb S S    1.000 kg\r\nS D    1.100 kg\r\nxx\r\nS +\r\nZ A\r\n"
    frames = []
    for i in range(0, len(stream), 3):
        frames += dec.feed(stream[i : i + 3])
    assert frames == [
        WeightFrame(Decimal("1.000"), "kg", "stable"),
        WeightFrame(Decimal("1.100"), "kg", "dynamic"),
        WeightFrame(None, None, "overload"),
        SicsReply("Z", "A"),
    ]
    assert dec.dropped["bad_line"] == 1
    assert dec.dropped["garbage"] == 1


@pytest.mark.parametrize(
    ("command", "wire"),
    [("S", b"S\r\n"), ("SI", b"SI\r\n"), ("SIR", b"SIR\r\n"), ("Z", b"Z\r\n"), ("T", b"T\r\n")],
)
def test_mtsics_encode_commands(command: str, wire: bytes) -> None:
    assert mtsics.encode_command(command) == wire


def test_mtsics_encode_replies_roundtrip() -> None:
    line = mtsics.encode_weight("S", "stable", Decimal("-0.00102"), "g")
    assert line == b"S S   -0.00102 g\r\n"  # right-aligned in 10 characters
    assert mtsics.encode_weight("S", "overload", None, "g") == b"S +\r\n"
    reply = SicsReply("T", "S", Decimal("100.00"), "g")
    assert mtsics.decode(mtsics.encode_reply(reply))[1] == reply
    with pytest.raises(ValueError, match="unknown MT-SICS command"):
        mtsics.encode_command("X")


# ------------------------------------------------------------------ SHT20 over Modbus RTU


@pytest.mark.parametrize(
    ("capture", "frame"),
    [
        (
            bytes.fromhex("01 04 04 00 fa 02 71 1a f1"),
            RegistersFrame(1, 4, (250, 625)),
        ),
        (bytes.fromhex("01 04 04 ff e7 03 89 ba f1"), RegistersFrame(1, 4, (0xFFE7, 905))),
        (bytes.fromhex("01 03 04 02 71 00 fa 2b d3"), RegistersFrame(1, 3, (625, 250))),
    ],
)
def test_modbus_response_captures(capture: bytes, frame: RegistersFrame) -> None:
    assert sht20_modbus.decode(capture) == (len(capture), frame)


def test_modbus_requests_match_known_captures() -> None:
    # The request every SHT20 RS485 board's manual shows, and the MD02 one.
    assert sht20_modbus.encode_request(PRESETS["sht20"]) == bytes.fromhex("01 04 00 01 00 02 20 0B")
    assert sht20_modbus.encode_request(PRESETS["md02"]) == bytes.fromhex("01 03 00 00 00 02 C4 0B")


@pytest.mark.parametrize(
    ("preset", "registers", "climate"),
    [
        ("sht20", [250, 625], ClimateFrame(Decimal("25.0"), Decimal("62.5"))),
        ("sht20", [0xFFE7, 905], ClimateFrame(Decimal("-2.5"), Decimal("90.5"))),
        ("md02", [625, 12], ClimateFrame(Decimal("1.2"), Decimal("62.5"))),
        ("sht20_x100", [123, 9050], ClimateFrame(Decimal("1.23"), Decimal("90.50"))),
    ],
)
def test_register_maps(preset: str, registers: list[int], climate: ClimateFrame) -> None:
    assert sht20_modbus.climate_from_registers(PRESETS[preset], registers) == climate


def test_register_map_roundtrip_and_overrides() -> None:
    regmap = PRESETS["sht20"].with_overrides(scale=100, temperature_register=5, humidity_register=6)
    regs = sht20_modbus.registers_for(regmap, Decimal("-1.25"), Decimal("93.40"))
    ordered = [regs[5], regs[6]]
    assert sht20_modbus.climate_from_registers(regmap, ordered) == ClimateFrame(
        Decimal("-1.25"), Decimal("93.40")
    )


def test_modbus_garbage_bad_crc_split() -> None:
    good = bytes.fromhex("01 04 04 00 fa 02 71 1a f1")
    bad = bytes.fromhex("01 04 04 00 fa 02 71 1a f0")
    dec = sht20_modbus.decoder()
    frames = []
    stream = b"\x00\xff" + bad + good + bytes.fromhex("01 84 02 c2 c1") + good
    for i in range(0, len(stream), 4):
        frames += dec.feed(stream[i : i + 4])
    assert [f.registers for f in frames] == [(250, 625), (), (250, 625)]
    assert frames[1].exception == 2
    assert dec.dropped_bytes == 2 + len(bad)


# ------------------------------------------------------------------ units


@pytest.mark.parametrize(
    ("weight", "unit", "grams"),
    [
        ("1.2345", "kg", 1235),  # half-up
        ("-1.2345", "kg", -1234),  # half towards +inf, as money.round_half_up
        ("12.3", "g", 12),
        ("1", "lb", 454),
        ("16", "oz", 454),
        ("2", "jin", 1000),
        ("1", "ozt", None),
    ],
)
def test_to_grams(weight: str, unit: str, grams: int | None) -> None:
    assert to_grams(Decimal(weight), unit) == grams


# ------------------------------------------------------------------ fuzzing

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Random bytes plus fragments that look like frame starts, so resynchronisation is exercised.
_garbage = st.lists(
    st.one_of(
        st.binary(max_size=6),
        st.sampled_from(
            [
                b"\x02",
                b"\x02+00",
                b"\x02-0012",
                b"\x03",
                b"S ",
                b"S S ",
                b"SI D  1",
                b"T S 5",
                b"Z",
                b"E",
                b"\r",
                b"\n",
                b"\r\n",
                b"\x01\x04\x04",
                b"\x01\x03\x02\x00",
                b"\x01\x84",
            ]
        ),
    ),
    max_size=20,
).map(b"".join)
_decimals = st.decimals(min_value=-99999, max_value=99999, places=2, allow_nan=False)


def _drain(decode, buf: bytes) -> list[object]:
    frames = []
    while buf:
        consumed, frame = decode(buf)
        assert 0 <= consumed <= len(buf)
        if consumed == 0:
            break
        if frame is not None:
            frames.append(frame)
        buf = buf[consumed:]
    return frames


def _chunked(dec, stream: bytes, chunk: int) -> list[Any]:
    """Feed ``stream`` in reads of ``chunk`` bytes, as a serial port delivers it."""
    return [f for i in range(0, len(stream), chunk) for f in dec.feed(stream[i : i + chunk])]


@FUZZ
@given(st.one_of(st.binary(max_size=300), _garbage))
def test_fuzz_decoders_never_raise(data: bytes) -> None:
    for decode in (xk3190.decode, mtsics.decode, sht20_modbus.decode):
        _drain(decode, data)
    for make in (xk3190.decoder, mtsics.decoder, sht20_modbus.decoder):
        make().feed(data)


@FUZZ
@given(
    _garbage,
    st.decimals(min_value=-9999, max_value=9999, places=2, allow_nan=False),
    st.integers(1, 12),
)
def test_fuzz_xk3190_frame_after_garbage(garbage: bytes, weight: Decimal, chunk: int) -> None:
    frame = xk3190.encode(weight)
    dec = xk3190.decoder()
    stream = garbage + frame
    out = _chunked(dec, stream, chunk)
    assert out
    assert out[-1].weight == weight


@FUZZ
@given(
    _garbage,
    _decimals,
    st.sampled_from(["S", "SI", "SIR"]),
    st.sampled_from(["stable", "dynamic"]),
    st.sampled_from(["g", "kg", "lb", "oz", "ozt"]),
    st.integers(1, 12),
)
def test_fuzz_mtsics_reply_after_garbage(
    garbage: bytes, weight: Decimal, command: str, status: WeightStatus, unit: str, chunk: int
) -> None:
    line = mtsics.encode_weight(command, status, weight, unit)
    expected = WeightFrame(weight, unit, status)
    frames = _drain(mtsics.decode, garbage + line)
    assert frames
    assert frames[-1] == expected
    assert _chunked(mtsics.decoder(), garbage + line, chunk)[-1:] == [expected]


@FUZZ
@given(
    _garbage,
    st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=8),
    st.sampled_from([3, 4]),
    st.integers(1, 12),
)
def test_fuzz_modbus_response_after_garbage(
    garbage: bytes, regs: list[int], fc: int, chunk: int
) -> None:
    frame = sht20_modbus.encode_response(1, fc, regs)
    expected = RegistersFrame(1, fc, tuple(regs))
    frames = _drain(sht20_modbus.decode, garbage + frame)
    assert frames
    assert frames[-1] == expected
    assert _chunked(sht20_modbus.decoder(), garbage + frame, chunk)[-1:] == [expected]
