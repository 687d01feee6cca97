"""Farmers and buyers."""
