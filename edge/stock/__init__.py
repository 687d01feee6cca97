"""Stock at the station: lots put away into rooms, moved, shipped and written off, each
room's stock a ledger (:mod:`edge.stock.ledger`), the 1 h cooling rule and the operator
actions (:mod:`edge.stock.service`), their HTTP routes (:mod:`edge.stock.api`)."""
