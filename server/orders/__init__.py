"""Buyers' orders, their FEFO pick lists and the shipments that fill them."""
