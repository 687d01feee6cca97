"""Grading failures, one class each; messages Chinese first, then English."""

from __future__ import annotations


class GradingError(Exception):
    """Base of every grading failure."""

    code = "grading_error"


class ModelUnavailable(GradingError):
    """The shipped ONNX model or its metadata is missing or does not match the contract."""

    code = "model_unavailable"


class ImageUnreadable(GradingError):
    """The bytes or file are not a readable image."""

    code = "unreadable_image"
