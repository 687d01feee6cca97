"""Every table, imported in one place so the metadata is complete."""

from server.aggregates.models import DailyAggregate
from server.audit.models import AuditEntry
from server.auth.models import User
from server.coldchain.models import Alarm, ClimateMinute, LotColdStay
from server.contracts.models import Contract
from server.farmers.models import Buyer, Farmer
from server.lots.models import Lot, LotPart
from server.orders.models import Order, Shipment, ShipmentLot
from server.passbook.models import PassbookRevocation, PassbookToken
from server.payouts.models import PaidLot, PayoutAdjustment, PayoutRun
from server.photos.models import LotPhoto, Photo
from server.pricing.models import MarketPrice
from server.stations.models import Cooperative, Station

__all__ = [
    "Alarm",
    "AuditEntry",
    "Buyer",
    "ClimateMinute",
    "Contract",
    "Cooperative",
    "DailyAggregate",
    "Farmer",
    "Lot",
    "LotColdStay",
    "LotPart",
    "LotPhoto",
    "MarketPrice",
    "Order",
    "PaidLot",
    "PassbookRevocation",
    "PassbookToken",
    "PayoutAdjustment",
    "PayoutRun",
    "Photo",
    "Shipment",
    "ShipmentLot",
    "Station",
    "User",
]
