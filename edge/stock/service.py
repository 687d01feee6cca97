"""The station's stock actions and DESIGN's 1 h cooling rule, over the store's ledger.

:class:`StockService` checks what the ledger cannot know (the room is one of the station's
rooms) and stamps each movement with the time; the ledger refuses what would take a lot
below zero. A lot whose last grams left (shipped, written off) is handed to ``on_emptied``
(the node closes its cold-room stay and queues it for the server).

Cooling (DESIGN, cold chain): cooling should start within 1 h of intake. A lot not put
away into a room 1 h after it was weighed raises ONE ``cooling_late`` alarm (major); its
id is made from the station and the lot, so raising it again after a crash updates the
same alarm, never a second one. The put-away clears it. The alarm is kept and queued for
the server like the rooms' alarms (``EdgeStore.record_alarm``); its ``room`` is the lane
the lot waits on, as the lot is in no room yet.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from edge.coldchain.alarms import AlarmEvent, dt
from edge.coldchain.rules import MINUTE_MS
from edge.errors import StockNotFoundError, StoreError
from edge.outbox.schema import now_ms
from edge.outbox.store import EdgeStore
from edge.stock.ledger import ALARM_CLEARED, ALARM_RAISED, NO_ALARM, Cooling, ShipLine
from gongfang import wire

log = logging.getLogger(__name__)

COOLING_LATE_MS = 60 * MINUTE_MS
COOLING_RULE = "cooling_late"
_COOLING_NS = uuid.UUID("6f1d3a52-4c1b-4f4e-9b7e-2f1c0a9d7e31")


def cooling_alarm_id(station: str, lot_id: str) -> uuid.UUID:
    """The one id a lot's cooling alarm has (re-raised after a crash: the same alarm)."""
    return uuid.uuid5(_COOLING_NS, f"{station}/{lot_id}")


class StockService:
    """Put-away, moves, shipments and write-offs of one station; stock per room; the
    cooling check (:meth:`check_cooling`, run on the node's tick)."""

    def __init__(
        self,
        *,
        store: EdgeStore,
        station: str,
        rooms: Iterable[str],
        on_emptied: Callable[[str], object] | None = None,
        on_alarms: Callable[[list[AlarmEvent]], None] | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.store = store
        self.station = station
        self.rooms = frozenset(rooms)
        self._on_emptied = on_emptied
        self._on_alarms = on_alarms
        self._clock = clock
        self._cooling = threading.Lock()  # the tick and a put-away both check

    # ------------------------------------------------------------ movements

    def put_away(self, *, lot_id: str, room: str, operator: str | None) -> dict[str, Any]:
        """The whole lot into ``room``: its cooling starts (a late alarm is cleared)."""
        self._known(room)
        at = self._clock()
        grams = self.store.put_away(lot_id=lot_id, room=room, operator=operator, at_ms=at)
        try:
            self.check_cooling(at)
        except StoreError:  # the put-away is kept; the next tick clears the alarm
            log.warning("预冷告警未能解除 / cooling alarm of lot %s not cleared yet", lot_id)
        return {"lot_id": lot_id, "room": room, "grams": grams, "at_ms": at}

    def move(
        self, *, lot_id: str, from_room: str | None, to_room: str, grams: int, operator: str | None
    ) -> dict[str, Any]:
        self._known(to_room)
        at = self._clock()
        left = self.store.move(
            lot_id=lot_id,
            from_room=from_room,
            to_room=to_room,
            grams=grams,
            operator=operator,
            at_ms=at,
        )
        return {"lot_id": lot_id, "from_room": left, "to_room": to_room, "grams": grams}

    def ship(
        self, *, shipment: str, lot_id: str, room: str | None, grams: int, operator: str | None
    ) -> dict[str, Any]:
        """One lot's grams leave in ``shipment`` (see :meth:`ship_lines`)."""
        doc = self.ship_lines(shipment=shipment, lines=[(lot_id, room, grams)], operator=operator)
        return {"shipment": shipment, **doc["lines"][0]}

    def ship_lines(
        self, *, shipment: str, lines: Sequence[ShipLine], operator: str | None
    ) -> dict[str, Any]:
        """A shipment of several lots: every line leaves, or none (nothing written)."""
        rooms = self.store.ship(
            shipment=shipment, lines=lines, operator=operator, at_ms=self._clock()
        )
        for lot_id in dict.fromkeys(lot for lot, _, _ in lines):
            self._maybe_emptied(lot_id)
        return {
            "shipment": shipment,
            "lines": [
                {"lot_id": lot, "room": left, "grams": grams}
                for (lot, _, grams), left in zip(lines, rooms, strict=True)
            ],
        }

    def write_off(
        self, *, lot_id: str, room: str | None, grams: int, reason: str, operator: str | None
    ) -> dict[str, Any]:
        at = self._clock()
        left = self.store.write_off(
            lot_id=lot_id, room=room, grams=grams, reason=reason, operator=operator, at_ms=at
        )
        self._maybe_emptied(lot_id)
        return {"lot_id": lot_id, "room": left, "grams": grams, "reason": reason}

    # ------------------------------------------------------------ reads

    def stock(self) -> dict[str, Any]:
        """Stock per room, product and grade (grams, and kg for people), and the lots that
        still wait to be put away."""
        now = self._clock()
        return {
            "rooms": [
                {
                    "room": s.room,
                    "product": s.product,
                    "grade": s.grade,
                    "grams": s.grams,
                    "kg": round(s.grams / 1000, 3),
                    "lots": s.lots,
                }
                for s in self.store.room_stock()
            ],
            "waiting": [
                {
                    "lot_id": c.lot_id,
                    "lane": c.lane,
                    "intake_ms": c.intake_ms,
                    "minutes_waiting": (now - c.intake_ms) // MINUTE_MS,
                    "late": now - c.intake_ms >= COOLING_LATE_MS,
                }
                for c in self.store.cooling(waiting_since_ms=now)
            ],
        }

    def lots(self, room: str | None = None) -> list[dict[str, Any]]:
        return [
            {
                "lot_id": h.lot_id,
                "room": h.room,
                "grams": h.grams,
                "product": h.product,
                "grade": h.grade,
                "intake_ms": h.intake_ms,
            }
            for h in self.store.holdings(room=room)
        ]

    # ------------------------------------------------------------ cooling

    def check_cooling(self, now: int) -> list[AlarmEvent]:
        """Raise the alarm of each lot waiting 1 h or more; clear those put away since."""
        with self._cooling:
            events = self._cooling_events(now)
        if events and self._on_alarms is not None:
            self._on_alarms(events)
        return events

    def _cooling_events(self, now: int) -> list[AlarmEvent]:
        events = [
            self._raise(c, now)
            for c in self.store.cooling(waiting_since_ms=now - COOLING_LATE_MS, alarm=NO_ALARM)
        ]
        for c in self.store.cooling(alarm=ALARM_RAISED):
            if c.put_away_ms is not None:
                cleared = self._clear(c)
                if cleared is not None:
                    events.append(cleared)
        return events

    def _raise(self, c: Cooling, now: int) -> AlarmEvent:
        lane = c.lane  # a lane id is an Ident, as an alarm's room must be
        record = wire.AlarmRecord(
            id=cooling_alarm_id(self.station, c.lot_id),
            station=self.station,
            room=lane,
            rule=COOLING_RULE,
            severity=wire.Severity.MAJOR,
            started_at=dt(c.intake_ms),
            updated_at=dt(max(now, c.intake_ms)),
            message=(
                f"{lane}: 批次 {c.lot_id} 入站超过 1 小时仍未入冷库预冷 /"
                f" lot {c.lot_id} not in a cold room 1 h after intake"
            ),
        )
        # kept (and queued) first, marked second: a crash between raises the same id again
        self.store.record_alarm(record)
        self.store.set_cooling_alarm(c.lot_id, ALARM_RAISED)
        return AlarmEvent("raised", record)

    def _clear(self, c: Cooling) -> AlarmEvent | None:
        stored = self.store.alarm(str(cooling_alarm_id(self.station, c.lot_id)))
        event = None
        if stored is not None and stored.cleared_at is None:
            assert c.put_away_ms is not None  # noqa: S101 - the caller checks
            at = max(dt(c.put_away_ms), stored.started_at)
            record = stored.model_copy(
                update={"cleared_at": at, "updated_at": max(at, stored.updated_at)}
            )
            self.store.record_alarm(record)
            event = AlarmEvent("cleared", record)
        self.store.set_cooling_alarm(c.lot_id, ALARM_CLEARED)
        return event

    # ------------------------------------------------------------ helpers

    def _known(self, room: str) -> None:
        if room not in self.rooms:
            raise StockNotFoundError(f"未知的冷库 / unknown room: {room}")

    def _maybe_emptied(self, lot_id: str) -> None:
        """The lot's last grams left: its stay is closed (if that fails, the movement is
        kept all the same and ``POST /api/lots/{id}/dispatch`` closes it later)."""
        if self._on_emptied is None or self.store.holdings(lot_id=lot_id):
            return
        try:
            self._on_emptied(lot_id)
        except StoreError:
            log.exception("冷库停留未能关闭 / stay of lot %s not closed", lot_id)
