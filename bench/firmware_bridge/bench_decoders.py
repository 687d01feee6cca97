"""Decoder throughput on a noisy serial stream, against a naive baseline in the same run.

Prints JSON: frames per second for each StreamDecoder fed in 64-byte reads (as a serial
port delivers them) with 10% of the stream garbage, and the ratio to a baseline that
just splits on the frame delimiter without validating (the least any parser must do).
Target: every decoder handles far more than a 9600-baud line can carry (~80 XK3190
frames/s), i.e. ``frames_per_s`` ≥ 10,000.
"""

from __future__ import annotations

import json
import random
import time
from decimal import Decimal

from firmware_bridge.protocols import mtsics, sht20_modbus, xk3190

N = 20_000


def _stream(frames: list[bytes], rng: random.Random) -> bytes:
    out = bytearray()
    for f in frames:
        if rng.random() < 0.1:
            out += bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        out += f
    return bytes(out)


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _feed(make, data: bytes) -> int:
    dec = make()
    n = 0
    for i in range(0, len(data), 64):
        n += len(dec.feed(data[i : i + 64]))
    return n


def main() -> None:
    rng = random.Random(1)
    weights = [Decimal(rng.randint(-99999, 999999)).scaleb(-2) for _ in range(N)]
    cases = {
        "xk3190": (xk3190.decoder, [xk3190.encode(w) for w in weights], b"\x03"),
        "mtsics": (
            mtsics.decoder,
            [mtsics.encode_weight("S", "stable", w, "kg") for w in weights],
            b"\n",
        ),
        "sht20_modbus": (
            sht20_modbus.decoder,
            [sht20_modbus.encode_response(1, 4, [rng.randrange(65536), 900]) for _ in range(N)],
            None,
        ),
    }
    results = {}
    for name, (make, frames, delim) in cases.items():
        data = _stream(frames, rng)
        decoded = 0

        def run(make=make, data=data) -> None:
            nonlocal decoded
            decoded = _feed(make, data)

        elapsed = _time(run)
        if delim is not None:
            base = _time(lambda data=data, delim=delim: data.split(delim))
        else:  # RTU has no delimiter: baseline is slicing fixed 9-byte responses
            base = _time(lambda data=data: [data[i : i + 9] for i in range(0, len(data), 9)])
        results[name] = {
            "frames": N,
            "decoded": decoded,
            "frames_per_s": round(decoded / elapsed),
            "baseline_frames_per_s": round(N / base),
            "ratio_vs_baseline": round((decoded / elapsed) / (N / base), 4),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
