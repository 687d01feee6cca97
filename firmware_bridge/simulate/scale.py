"""A weighing indicator on a pty: XK3190-A9 continuous output or an MT-SICS scale.

The weight follows either a fixed value (:meth:`SimulatedScale.set_weight`) or a queue
of crates (:meth:`SimulatedScale.weigh`: placed, settling noise, removal). An XK3190
streams frames at ``rate_hz``; an MT-SICS scale answers ``S``, ``SI``, ``SIR``, ``Z`` and
``T`` (``SIR`` makes it stream ``SI`` replies until the next command).
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Literal

from firmware_bridge.protocols import mtsics, xk3190
from firmware_bridge.protocols.mtsics import SicsReply
from firmware_bridge.protocols.units import GRAMS_PER_UNIT
from firmware_bridge.simulate.profile import Phases, Sample, crate_weighing
from firmware_bridge.simulate.ptylink import PtyPort
from gongfang.money import round_half_up


def grams_to_display(grams: int, unit: str, decimals: int) -> Decimal:
    """What the indicator shows for ``grams`` in ``unit`` with ``decimals`` places."""
    scaled = Fraction(grams) / GRAMS_PER_UNIT[unit] * 10**decimals
    return Decimal(round_half_up(scaled)).scaleb(-decimals)


class SimulatedScale:
    """A scale thread writing its protocol's bytes into a :class:`PtyPort`."""

    def __init__(
        self,
        link: Path | str,
        protocol: Literal["xk3190", "mtsics"] = "xk3190",
        *,
        unit: str = "kg",
        decimals: int = 2,
        rate_hz: float = 10.0,
        seed: int = 0,
    ) -> None:
        self.port = PtyPort(link)
        self.protocol = protocol
        self.unit = unit
        self.decimals = decimals
        self.period_s = 1.0 / rate_hz
        self.rng = random.Random(seed)
        self._grams = 0
        self._settled = True
        self._zero_g = 0
        self._tare_g = 0
        self._queue: deque[Sample] = deque()
        self._streaming = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent_frames = 0
        self.garble_next = 0  # number of frames to corrupt (tests of the bridge's resync)
        self.silent = False  # plugged in but sending nothing (a hung indicator)

    # -------------------------------------------------------------- control

    def set_weight(self, grams: int, settled: bool = True) -> None:
        """Show ``grams`` from now on (clears any queued crates)."""
        with self._lock:
            self._queue.clear()
            self._grams, self._settled = grams, settled

    def weigh(self, gross_g: int, *, unsettled: bool = False, phases: Phases | None = None) -> None:
        """Queue one crate: put on, swing, settle, taken off (one sample per frame period)."""
        samples, _ = crate_weighing(
            self.rng,
            gross_g,
            period_ms=int(self.period_s * 1000),
            unsettled=unsettled,
            phases=phases,
        )
        with self._lock:
            self._queue.extend(samples)

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._queue)

    def start(self) -> SimulatedScale:
        self.port.plug()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sim-scale", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        self.port.unplug()

    def unplug(self) -> None:
        """Pull the cable: the pty closes and its path disappears."""
        with self._lock:
            self.port.unplug()

    def plug(self) -> None:
        """Plug it back in at the same path."""
        with self._lock:
            self.port.plug()

    def __enter__(self) -> SimulatedScale:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------- the scale

    def _tick(self) -> tuple[int, bool]:
        """Advance one frame period along the queued crates; the state now."""
        with self._lock:
            if self._queue:
                s = self._queue.popleft()
                self._grams, self._settled = s.grams, s.settled
        return self._state()

    def _state(self) -> tuple[int, bool]:
        """What the scale shows now (net of zero and tare) and whether it is at rest."""
        with self._lock:
            return self._grams - self._zero_g - self._tare_g, self._settled

    def _display(self, grams: int) -> Decimal:
        return grams_to_display(grams, self.unit, self.decimals)

    def _run(self) -> None:
        next_t = time.monotonic()
        pending = b""
        while not self._stop.is_set():
            grams, settled = self._tick()
            if self.protocol == "xk3190":
                self._send(xk3190.encode(self._display(grams)))
            else:
                pending += self.port.read(0)
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    self._answer(line.strip().decode("ascii", "replace"), *self._state())
                if self._streaming:
                    self._send(self._weight_reply(grams, settled))
            next_t += self.period_s
            delay = next_t - time.monotonic()
            if delay < 0:
                next_t = time.monotonic()
            # Waiting on the port doubles as the frame clock (and catches commands early).
            if self.protocol == "mtsics" and delay > 0:
                pending += self.port.read(delay)
            elif delay > 0:
                self._stop.wait(delay)

    def _send(self, data: bytes) -> None:
        if self.silent:
            return
        if self.garble_next > 0:
            self.garble_next -= 1
            data = data[:3] + b"\xff" + data[4:]
        with self._lock:
            if self.port.write(data):
                self.sent_frames += 1

    def _weight_reply(self, grams: int, settled: bool) -> bytes:
        # Replies to S, SI and SIR all start with "S" (MT-SICS reference manual).
        status: mtsics.WeightStatus = "stable" if settled else "dynamic"
        return mtsics.encode_weight("S", status, self._display(grams), self.unit)

    def _answer(self, command: str, grams: int, settled: bool) -> None:
        self._streaming = False
        if command == "S":
            self._send(self._weight_reply(grams, True) if settled else b"S I\r\n")
        elif command == "SI":
            self._send(self._weight_reply(grams, settled))
        elif command == "SIR":
            self._streaming = True
        elif command == "Z":
            if settled:
                with self._lock:
                    self._zero_g += grams
                self._send(b"Z A\r\n")
            else:
                self._send(b"Z I\r\n")
        elif command == "T":
            if settled:
                with self._lock:
                    self._tare_g += grams
                reply = SicsReply("T", "S", self._display(self._tare_g), self.unit)
                self._send(mtsics.encode_reply(reply))
            else:
                self._send(b"T I\r\n")
        elif command:
            self._send(b"ES\r\n")
