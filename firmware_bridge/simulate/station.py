"""A whole station's day, straight onto MQTT, in simulated time.

The day's script (:mod:`.day`): farmers arrive with 1–4 crates, each visit at the lane
that frees up first, and scriptable faults. Here the devices turn it into messages: a
visit is a scanner code (the farmer's id), then per crate a scale stream (empty, ramp,
swinging, at rest, removal) and a camera frame (:mod:`.camera`) while the crate is at
rest. Cold rooms report climate every 10 s with the compressor cycling (a saw-tooth
around 1 °C for strawberry rooms), and their doors open when crates are carried in.
Faults: ``compressor`` (it stops: the room warms towards ambient), ``silent-sensor`` (a
probe stops reporting and its device goes offline), ``unsettled-scale`` (crates on the
first lane never settle), ``garbled`` (some scale/climate payloads are corrupted),
``door-left-open`` (the first room's door stays open for 7 minutes), each
optionally ``@seconds`` into the run (e.g. ``compressor@600``).

Everything is generated from the seed in simulated time (``ts_ms`` from ``start``), so
:meth:`StationSimulator.messages` is the same sequence on every run with the same
arguments; :meth:`StationSimulator.run` publishes it (:mod:`.publish`), ``speed`` times
faster than real time (``speed=0``: as fast as possible).
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from firmware_bridge.simulate.camera import CrateCamera
from firmware_bridge.simulate.day import (
    CRATE_MS,
    DEFAULT_START,
    DIVISION_G,
    DOOR_LEFT_OPEN_MS,
    SAMPLE_PERIOD_MS,
    SCAN_LEAD_MS,
    Crate,
    Fault,
    Visit,
    plan_visits,
)
from firmware_bridge.simulate.profile import crate_weighing
from firmware_bridge.simulate.publish import Event, SimulationSummary, publish_paced
from gongfang.wire import Climate, Door, Product, ScaleReading, ScannerCode, Topics, utc_ms

CLIMATE_PERIOD_MS = 10_000
IDLE_PERIOD_MS = 1_000  # an idle indicator still streams zeros; once a second is enough
AMBIENT_C = 12.0  # a Zhejiang winter day outside the cold room
OFFLINE_AFTER_MS = 5_000  # what a bridge's offline_after_s would take to notice


_IDENT = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # what gongfang.wire.Ident allows in a topic


def _ids(value: int | Sequence[str], prefix: str) -> list[str]:
    return [f"{prefix}{i + 1}" for i in range(value)] if isinstance(value, int) else list(value)


class StationSimulator:
    """A seeded station day: ``messages()`` to inspect it, ``run()`` to publish it.

    ``lanes`` / ``rooms``: a count (ids ``lane1``…, ``room1``… as the edge's defaults) or
    the ids themselves. ``farmers``: the codes the scanner reads (default F001…F010),
    visiting in turn. ``camera_size`` is the strawberry photo size (箬叶 photos keep the
    renderer's larger default: leaves are long); ``camera="placeholder"`` skips rendering;
    ``qualities`` scripts a farmer's usual crates (``good``, ``fair``, ``poor``; others
    drawn from the seed).
    With the default mean gap of 45 s a 12-hour day buys about 13 t, like 建德's centre.
    """

    def __init__(
        self,
        *,
        station: str,
        mqtt_url: str = "mqtt://127.0.0.1:1883",
        seed: int = 0,
        speed: float = 1.0,
        farmers: Sequence[str] | None = None,
        lanes: int | Sequence[str] = 1,
        rooms: int | Sequence[str] = 1,
        faults: Sequence[Fault | str] = (),
        product: Product | str = Product.STRAWBERRY,
        start: datetime = DEFAULT_START,
        mean_gap_s: float = 45.0,
        camera_size: tuple[int, int] = (1280, 960),
        camera: Literal["render", "placeholder"] = "render",
        qualities: Mapping[str, str] | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if speed < 0:
            raise ValueError("speed must be ≥ 0 (0: as fast as possible)")
        self.station = station
        self.topics = Topics(station)
        self.mqtt_url = mqtt_url
        self.seed = seed
        self.speed = speed
        self.farmers = list(farmers) if farmers else [f"F{i:03d}" for i in range(1, 11)]
        # Ids as the edge's defaults name them (EdgeSettings.lanes / rooms).
        self.lanes = _ids(lanes, "lane")
        self.rooms = _ids(rooms, "room")
        if not self.lanes or not self.rooms:
            raise ValueError("至少一个工位和一个冷库 / a station needs a lane and a cold room")
        for ident in [station, *self.lanes, *self.rooms]:
            if not _IDENT.fullmatch(ident):
                raise ValueError(
                    f"编号只能含字母、数字、_.- / ids are letters, digits, _.- only: {ident!r}"
                )
        self.faults = [f if isinstance(f, Fault) else Fault.parse(f) for f in faults]
        self.product = Product(product)
        self.start_ms = utc_ms(start)
        self.mean_gap_ms = mean_gap_s * 1000
        self.camera_size = camera_size
        self.camera = camera
        self.stop_event = threading.Event()
        self._camera = CrateCamera(
            seed=seed, product=self.product, size=camera_size, camera=camera, qualities=qualities
        )
        self._visits: list[Visit] = []

    @property
    def _camera_mode(self) -> str | None:
        """What the camera has sent so far (``None``, ``"rendered"``, ``"placeholder"``)."""
        return self._camera.mode

    # -------------------------------------------------------------- schedule

    def _fault(self, kind: str) -> Fault | None:
        return next((f for f in self.faults if f.kind == kind), None)

    def schedule(self, duration_s: float | None, n_farmers: int | None) -> tuple[list[Visit], int]:
        """The visits and the end of the run (ms after start)."""
        return plan_visits(
            seed=self.seed,
            farmers=self.farmers,
            lanes=self.lanes,
            rooms=self.rooms,
            product=self.product,
            mean_gap_ms=self.mean_gap_ms,
            duration_s=duration_s,
            n_farmers=n_farmers,
        )

    # -------------------------------------------------------------- streams

    def _json(self, model: BaseModel) -> bytes:
        return model.model_dump_json(exclude_none=True).encode()

    def _garble(self, rng: random.Random, event: Event) -> Event:
        choice = rng.randrange(4)
        if choice == 0:
            payload = event.payload[: len(event.payload) // 2]  # truncated JSON
        elif choice == 1:
            payload = bytes(rng.randrange(256) for _ in range(16))  # line noise
        elif choice == 2:
            doc = json.loads(event.payload)
            key = "gross_g" if "gross_g" in doc else "temp_c"
            doc[key] = 99_999_999 if key == "gross_g" else 999.9  # out of physical range
            payload = json.dumps(doc).encode()
        else:
            payload = b'{"ts_ms": "yesterday"}'  # wrong field type
        return Event(event.t_ms, event.topic, payload, event.qos, event.retain, event.kind, True)

    def _lane_stream(self, lane: str, visits: list[Visit], end_ms: int) -> Iterator[Event]:
        rng = random.Random(f"{self.seed}:lane:{lane}")
        garbled = self._fault("garbled")
        unsettled = self._fault("unsettled-scale") if lane == self.lanes[0] else None
        topic = self.topics.scale_reading(lane)
        seq = itertools.count()

        def reading(t: int, grams: int) -> Event:
            body = ScaleReading(ts_ms=self.start_ms + t, gross_g=grams, seq=next(seq))
            ev = Event(t, topic, self._json(body), 0, False, "scale")
            if garbled and t >= garbled.at_s * 1000 and rng.random() < 0.05:
                return self._garble(rng, ev)
            return ev

        t = 0
        for visit in (v for v in visits if v.lane == lane):
            while t < visit.start_ms:
                yield reading(t, 0)
                t += IDLE_PERIOD_MS
            t = visit.start_ms
            code = ScannerCode(ts_ms=self.start_ms + t, code=visit.farmer)
            yield Event(t, self.topics.scanner_code(lane), self._json(code), 1, False, "scanner")
            lead_end = t + SCAN_LEAD_MS
            t += IDLE_PERIOD_MS
            while t < lead_end:  # the indicator keeps streaming while the crate is fetched
                yield reading(t, 0)
                t += IDLE_PERIOD_MS
            t = lead_end
            for k, crate in enumerate(visit.crates):
                shaky = unsettled is not None and t >= unsettled.at_s * 1000
                samples, rest_ms = crate_weighing(
                    rng,
                    crate.gross_g,
                    period_ms=SAMPLE_PERIOD_MS,
                    division_g=DIVISION_G,
                    unsettled=shaky,
                )
                # The camera snaps as soon as the crate is at rest: well before the edge's
                # detector calls it stable (1.5 s later), which attaches the latest frame.
                camera_at = t + rest_ms + SAMPLE_PERIOD_MS
                for s in samples:
                    if t + s.t_ms >= camera_at > t + s.t_ms - SAMPLE_PERIOD_MS:
                        yield self._camera_event(camera_at, lane, visit, k, crate)
                    yield reading(t + s.t_ms, s.grams)
                t += CRATE_MS
        while t < end_ms:
            yield reading(t, 0)
            t += IDLE_PERIOD_MS

    def _camera_event(self, t: int, lane: str, visit: Visit, k: int, crate: Crate) -> Event:
        jpeg = self._camera.photo(visit.index, k, crate.n_items, visit.farmer)
        return Event(t, self.topics.camera_frame(lane), jpeg, 1, False, "camera")

    def _room_stream(self, room: str, visits: list[Visit], end_ms: int) -> Iterator[Event]:
        rng = random.Random(f"{self.seed}:room:{room}")
        is_first = room == self.rooms[0]
        compressor = self._fault("compressor") if is_first else None
        silent = self._fault("silent-sensor") if is_first else None
        left_open = self._fault("door-left-open") if is_first else None
        garbled = self._fault("garbled")
        setpoint = 1.0 if self.product is Product.STRAWBERRY else 4.0
        # Doors open when a visit's crates are carried in: (open_ms, close_ms).
        doors = []
        for v in visits:
            if v.room == room:
                opened = v.start_ms + v.duration_ms + rng.randint(5_000, 30_000)
                doors.append((opened, opened + rng.randint(20_000, 90_000)))
        if left_open is not None:  # someone props the door open: no visit closes it early
            a = int(left_open.at_s * 1000)
            b = a + DOOR_LEFT_OPEN_MS
            doors = [(o, c) for o, c in doors if c < a or o > b] + [(a, b)]
        door_events = sorted([(a, True) for a, _ in doors] + [(b, False) for _, b in doors])
        temp = setpoint + rng.uniform(-0.3, 0.3)
        rh = 92.0
        cooling = False
        seq = itertools.count()
        door_open = False
        di = 0
        for t in range(0, end_ms, 1000):  # physics in 1 s steps
            while di < len(door_events) and door_events[di][0] <= t:
                door_open = door_events[di][1]
                door = Door(ts_ms=self.start_ms + t, open=door_open)
                yield Event(t, self.topics.door(room), self._json(door), 1, False, "door")
                di += 1
            broken = compressor is not None and t >= compressor.at_s * 1000
            if temp > setpoint + 0.5:
                cooling = True
            elif temp < setpoint - 0.5:
                cooling = False
            leak = (AMBIENT_C - temp) * (8e-4 if door_open else 1.5e-4)
            temp += leak - (0.0045 if cooling and not broken else 0.0)
            target_rh = 92.0 - (2.5 if cooling and not broken else 0.0) - (9.0 if door_open else 0)
            rh += (target_rh - rh) * 0.01
            if t % CLIMATE_PERIOD_MS:
                continue
            if silent is not None and t >= silent.at_s * 1000:
                continue
            body = Climate(
                ts_ms=self.start_ms + t,
                temp_c=round(temp + rng.gauss(0, 0.03), 1),
                rh_pct=round(min(100.0, rh + rng.gauss(0, 0.3)), 1),
                seq=next(seq),
            )
            ev = Event(t, self.topics.climate(room), self._json(body), 1, False, "climate")
            if garbled and t >= garbled.at_s * 1000 and rng.random() < 0.05:
                ev = self._garble(rng, ev)
            yield ev
        # A silent probe: the bridge notices after offline_after_s and says so.
        if silent is not None and silent.at_s * 1000 + OFFLINE_AFTER_MS < end_ms:
            t = int(silent.at_s * 1000) + OFFLINE_AFTER_MS
            yield Event(
                t, self._status_topic(f"probe-{room}"), b"offline", 1, True, "device_status"
            )

    def _status_topic(self, device: str) -> str:
        return self.topics.device_status(device)

    def _devices(self) -> list[str]:
        return [f"scale-{ln}" for ln in self.lanes] + [f"probe-{r}" for r in self.rooms]

    # -------------------------------------------------------------- the run

    def events(
        self, duration_s: float | None = None, n_farmers: int | None = None
    ) -> Iterator[Event]:
        """Every message of the run, in simulated-time order."""
        visits, end_ms = self.schedule(duration_s, n_farmers)
        self._visits = visits
        start = [
            Event(0, self._status_topic(d), b"online", 1, True, "device_status")
            for d in self._devices()
        ]
        streams: list[Iterator[Event]] = [iter(start)]
        streams += [self._lane_stream(ln, visits, end_ms) for ln in self.lanes]
        streams += [self._room_stream(r, visits, end_ms) for r in self.rooms]
        # Ties in time keep stream order, then emission order: the merge is deterministic.
        merged = heapq.merge(*(_keyed(i, s) for i, s in enumerate(streams)))
        for _, ev in merged:
            if ev.t_ms > end_ms:
                break
            yield ev
        for d in self._devices():
            yield Event(end_ms, self._status_topic(d), b"offline", 1, True, "device_status")

    def messages(
        self, duration_s: float | None = None, n_farmers: int | None = None
    ) -> Iterator[tuple[str, bytes, int, bool]]:
        """(topic, payload, qos, retain) of every message, without a broker."""
        for ev in self.events(duration_s, n_farmers):
            yield ev.topic, ev.payload, ev.qos, ev.retain

    def run(
        self,
        duration_s: float | None = None,
        n_farmers: int | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> SimulationSummary:
        """Publish the run to ``mqtt_url``, paced by ``speed``; stops early on ``stop_event``."""
        summary = SimulationSummary(
            self.station, self.seed, faults=[f"{f.kind}@{f.at_s:g}" for f in self.faults]
        )
        last_t = publish_paced(
            self.events(duration_s, n_farmers),
            mqtt_url=self.mqtt_url,
            client_id=f"gf-sim-{self.station}-{self.seed}-{time.time_ns() % 10**6}",
            speed=self.speed,
            stop_event=self.stop_event,
            summary=summary,
            on_event=on_event,
        )
        visits = [v for v in self._visits if v.start_ms <= last_t]
        summary.farmers = len(visits)
        summary.crates = sum(len(v.crates) for v in visits)
        summary.gross_g = sum(c.gross_g for v in visits for c in v.crates)
        summary.camera = self._camera_mode or "none"
        return summary


def _keyed(i: int, stream: Iterator[Event]) -> Iterator[tuple[tuple[int, int, int], Event]]:
    for n, ev in enumerate(stream):
        yield (ev.t_ms, i, n), ev
