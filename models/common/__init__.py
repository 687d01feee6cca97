"""Helpers shared by the product models (preprocessing, metrics), numpy + OpenCV only."""
