"""ESC/POS thermal printing (python-escpos): the receipt bitmap, then a cut.

``EdgeSettings.printer`` names the printer: ``usb:VID:PID`` (hex), ``serial:/dev/ttyUSB0``,
``network:HOST[:PORT]``, ``file:/dev/usb/lp0`` or ``dummy`` (bytes kept in memory).
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from edge.errors import ReceiptError


def open_printer(spec: str) -> Any:
    """An escpos printer object for a ``kind:args`` spec."""
    from escpos import printer as p

    kind, _, rest = spec.partition(":")
    try:
        if kind == "usb":
            vid, _, pid = rest.partition(":")
            return p.Usb(int(vid, 16), int(pid, 16))
        if kind == "serial":
            return p.Serial(devfile=rest)
        if kind == "network":
            host, _, port = rest.partition(":")
            return p.Network(host, int(port or 9100), timeout=10)
        if kind == "file":
            return p.File(devfile=rest)
        if kind == "dummy":
            return p.Dummy()
    except Exception as exc:  # escpos raises its own and OS errors: one error for callers
        raise ReceiptError(f"打印机无法打开 / printer {spec!r} cannot be opened: {exc}") from exc
    raise ReceiptError(
        f"打印机配置无效 / unknown printer spec {spec!r} (usb:, serial:, network:, file:, dummy)"
    )


def print_receipt(printer: Any, image: Image.Image) -> None:
    """Send the receipt bitmap and cut the paper."""
    try:
        printer.image(image.convert("1"), center=False)
        printer.cut()
    except Exception as exc:
        raise ReceiptError(f"打印失败 / printing failed: {exc}") from exc
