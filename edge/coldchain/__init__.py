"""Cold rooms: profiles, alarm rules, minute summaries, MKT and shelf-life estimates."""

from edge.coldchain.alarms import AlarmEvent
from edge.coldchain.kinetics import (
    daily_mkt,
    mean_kinetic_temperature,
    relative_shelf_life,
    shelf_life_used_h,
)
from edge.coldchain.monitor import ColdChainMonitor, RoomState
from edge.coldchain.rules import DEFAULT_RULES, PROFILES, AlarmRule, RoomProfile
from edge.coldchain.stay import Excursion, StayReport

__all__ = [
    "DEFAULT_RULES",
    "PROFILES",
    "AlarmEvent",
    "AlarmRule",
    "ColdChainMonitor",
    "Excursion",
    "RoomProfile",
    "RoomState",
    "StayReport",
    "daily_mkt",
    "mean_kinetic_temperature",
    "relative_shelf_life",
    "shelf_life_used_h",
]
