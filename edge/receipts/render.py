"""The 收购小票 (purchase receipt): one image, saved as PNG and PDF, printable on ESC/POS.

The receipt is drawn as a 576-dot-wide bitmap (80 mm paper at 203 dpi) with Noto Sans SC
(OFL, shipped by the ``pylopdf-fonts-zh-cn`` wheel), so Chinese renders the same on
screen, in the PDF and on any thermal printer without relying on its code pages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from edge.station.directory import SHANGHAI, PriceEstimate
from edge.station.grading_port import PLACEHOLDER_MODEL
from gongfang import money, wire

WIDTH_PX = 576
MARGIN_PX = 16
DPI = 203


@dataclass(frozen=True, slots=True)
class ReceiptData:
    station: str
    lot: wire.LotRecord
    farmer_name: str | None
    estimate: PriceEstimate | None
    passbook_base: str | None = None  # the server's public base URL (EdgeSettings)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    from pylopdf_fonts_zh_cn import sans_path

    return ImageFont.truetype(str(sans_path()), size)


def _graded_by_text(by: wire.GradedBy) -> str:
    if by.kind == "model":
        return f"模型 model {by.model_name} {by.model_version}"
    return f"操作员 {by.operator}：{by.reason}"


def receipt_lines(data: ReceiptData) -> list[tuple[str, int]]:
    """(text, font size) lines of the receipt, top to bottom."""
    lot = data.lot
    local = lot.captured_at.astimezone(SHANGHAI)
    farmer = f"{data.farmer_name}（{lot.farmer}）" if data.farmer_name else lot.farmer
    grade = lot.grade
    lines: list[tuple[str, int]] = [
        ("收购小票", 40),
        ("PURCHASE RECEIPT", 22),
        (f"站点 Station：{data.station}", 24),
        (f"时间 Time：{local:%Y-%m-%d %H:%M:%S}", 24),
        (f"农户 Farmer：{farmer}", 26),
        (f"品类 Product：{wire.PRODUCT_ZH[lot.product]} {lot.product.value}", 24),
        (
            f"毛重 Gross：{money.grams_to_kg_str(lot.gross_g)} kg"
            f" / {money.grams_to_jin_str(lot.gross_g)} 斤",
            24,
        ),
        (
            f"皮重 Tare：{money.grams_to_kg_str(lot.tare_g)} kg"
            f" / {money.grams_to_jin_str(lot.tare_g)} 斤",
            24,
        ),
        (
            f"净重 Net：{money.grams_to_kg_str(lot.net_g)} kg"
            f" / {money.grams_to_jin_str(lot.net_g)} 斤",
            30,
        ),
        (f"等级 Grade：{wire.GRADE_ZH[grade]} {grade.value}", 30),
        (f"分级 Graded by：{_graded_by_text(lot.graded_by)}", 20),
    ]
    if lot.graded_by.model_name == PLACEHOLDER_MODEL:
        lines.append(("！占位分级，未经模型，仅供参考 / PLACEHOLDER grade, no model", 20))
    est = data.estimate
    if est is None:
        lines.append(("预估价格 Est. price：暂无 n/a（由合作社定价）", 22))
    else:
        per_jin = money.fen_per_kg_to_fen_per_jin(est.unit_fen_per_kg)
        lines += [
            (
                f"预估单价 Est. unit：{money.fen_to_yuan_str(est.unit_fen_per_kg)} 元/kg"
                f"（{money.fen_to_yuan_str(per_jin)} 元/斤）",
                24,
            ),
            (f"预估金额 Est. amount：{money.fen_to_yuan_str(est.amount_fen)} 元", 28),
            (est.explanation, 18),
            ("预估，以合作社结算为准 / estimate only: the payout is final", 18),
        ]
    if lot.cold_room:
        lines.append((f"冷库 Cold room：{lot.cold_room}", 22))
    if lot.operator:
        lines.append((f"操作员 Operator：{lot.operator}", 22))
    lines.append((f"批次号 Lot：{lot.id}", 18))
    if lot.passbook_token and data.passbook_base:
        lines.append(("手机扫码查看本批次和交售记录 / scan: your passbook", 22))
    return lines


def qr_text(data: ReceiptData) -> str:
    """What the QR code carries: the farmer's passbook link ``{base}/p/{token}``.

    A lot recorded before passbook tokens (or an edge with no server URL) has no link to
    give; its QR then carries the lot id, as receipts did before.
    """
    token = data.lot.passbook_token
    if token and data.passbook_base:
        return data.passbook_base.rstrip("/") + wire.passbook_path(token)
    return str(data.lot.id)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont) -> list[str]:
    """Break a line by characters so it fits the paper width (CJK has no spaces)."""
    out: list[str] = []
    current = ""
    for ch in text:
        if current and draw.textlength(current + ch, font=font) > WIDTH_PX - 2 * MARGIN_PX:
            out.append(current)
            current = ch
        else:
            current += ch
    out.append(current)
    return out


def render_receipt(data: ReceiptData) -> Image.Image:
    """Draw the receipt as a 1-bit-friendly grayscale image."""
    scratch = ImageDraw.Draw(Image.new("L", (1, 1)))
    laid: list[tuple[str, ImageFont.FreeTypeFont, int]] = []
    height = MARGIN_PX
    for text, size in receipt_lines(data):
        font = _font(size)
        for part in _wrap(scratch, text, font):
            laid.append((part, font, height))
            height += int(size * 1.35)
    # A 4-module quiet zone, as the QR spec asks: phones then read it off thermal paper.
    qr = qrcode.QRCode(border=4, box_size=7, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(qr_text(data))
    qr.make(fit=True)
    qr_img = qr.make_image(fill_color="black", back_color="white").get_image().convert("L")
    height += 8
    qr_top = height
    height += qr_img.height + MARGIN_PX
    img = Image.new("L", (WIDTH_PX, height), 255)
    draw = ImageDraw.Draw(img)
    for part, font, y in laid:
        draw.text((MARGIN_PX, y), part, font=font, fill=0)
    img.paste(qr_img, ((WIDTH_PX - qr_img.width) // 2, qr_top))
    return img


def receipt_paths(base_dir: Path, lot: wire.LotRecord) -> tuple[Path, Path]:
    """Where a lot's PNG and PDF go: ``receipts/YYYY-MM-DD/<lot id>.png|pdf`` (local date)."""
    day = lot.captured_at.astimezone(SHANGHAI).date().isoformat()
    folder = Path(base_dir) / day
    return folder / f"{lot.id}.png", folder / f"{lot.id}.pdf"


def save_receipt(image: Image.Image, png: Path, pdf: Path) -> None:
    """Write both files atomically (a kill mid-write never leaves a half receipt)."""
    png.parent.mkdir(parents=True, exist_ok=True)
    for path, fmt in ((png, "PNG"), (pdf, "PDF")):
        tmp = path.with_suffix(path.suffix + ".tmp")
        # Grayscale in both (no RGB/JPEG round trip) and light PNG compression: the
        # receipt thread then takes little CPU from the lot write path.
        if fmt == "PDF":
            image.save(tmp, fmt, resolution=DPI)
        else:
            image.save(tmp, fmt, compress_level=1)
        os.replace(tmp, path)


def now_local() -> datetime:
    return datetime.now(SHANGHAI)
