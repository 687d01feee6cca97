"""Where the shipped model files live inside the installed package."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PRODUCTS = ("strawberry", "ruoye")


def model_dir(product: str) -> Path:
    """The package folder of ``product`` (``strawberry`` or ``ruoye``) holding model.onnx."""
    if product not in PRODUCTS:
        raise ValueError(f"未知产品 unknown product: {product!r}; expected one of {PRODUCTS}")
    return Path(str(files(f"models.{product}")))


def model_path(product: str) -> Path:
    """The shipped ``model.onnx`` of ``product``."""
    return model_dir(product) / "model.onnx"


def metadata_path(product: str) -> Path:
    """The shipped ``metadata.json`` of ``product``."""
    return model_dir(product) / "metadata.json"
