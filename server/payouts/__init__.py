"""Payout runs, approval, export."""
