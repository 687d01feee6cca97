"""Receipts: Chinese text, kg and 斤, grade, estimate, lot id and a readable QR code."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from escpos.printer import Dummy
from PIL import Image

from edge.errors import ReceiptError
from edge.outbox.store import EdgeStore
from edge.receipts.printer import open_printer, print_receipt
from edge.receipts.render import ReceiptData, _font, receipt_lines, render_receipt
from edge.receipts.worker import ReceiptWorker
from edge.station.directory import Directory, PriceEstimate
from gongfang import wire
from tests.edge.lot_factory import make_lot


def _data(estimate: PriceEstimate | None = None) -> ReceiptData:
    lot = make_lot(0, gross_g=12840, tare_g=500, operator="王芳")
    return ReceiptData("st1", lot, "张三", estimate)


def test_lines_carry_weights_grade_estimate_and_id() -> None:
    data = _data(PriceEstimate(1440, 17770, "市场价 12.00 × 1.20 = 14.40 → 14.40 元/kg"))
    text = "\n".join(t for t, _ in receipt_lines(data))
    assert "收购小票" in text
    assert "张三（F001）" in text
    assert "12.34 kg / 24.68 斤" in text  # net 12,340 g
    assert "12.84 kg / 25.68 斤" in text
    assert "0.50 kg / 1.00 斤" in text
    assert "一级 class_i" in text
    assert "预估金额 Est. amount：177.70 元" in text
    assert "7.20 元/斤" in text
    assert str(data.lot.id) in text


def test_placeholder_grade_is_marked() -> None:
    lot = make_lot(
        0, graded_by=wire.GradedBy(kind="model", model_name="placeholder", model_version="0")
    )
    text = "\n".join(t for t, _ in receipt_lines(ReceiptData("st1", lot, None, None)))
    assert "PLACEHOLDER" in text


def test_no_estimate_is_said_plainly() -> None:
    text = "\n".join(t for t, _ in receipt_lines(_data(None)))
    assert "暂无" in text
    assert "预估金额" not in text


def test_cjk_glyphs_are_real_not_tofu() -> None:
    font = _font(32)
    masks = {ch: bytes(font.getmask(ch)) for ch in "收购小票斤"}
    assert len(set(masks.values())) == 5  # missing glyphs would all be the same box


BASE_URL = "https://gf.example.org/coop"


def decode_qr(img: Image.Image) -> set[str]:
    """What OpenCV reads off a receipt image (two decoders: each misses a few on its own)."""
    gray = np.array(img.convert("L"))
    return {
        cv2.QRCodeDetectorAruco().detectAndDecode(gray)[0],
        cv2.QRCodeDetector().detectAndDecode(gray)[0],
    }


def test_qr_code_carries_the_passbook_link() -> None:
    token = wire.new_passbook_token()
    lot = make_lot(0, gross_g=12840, tare_g=500, passbook_token=token)
    img = render_receipt(ReceiptData("st1", lot, "张三", None, BASE_URL + "/"))
    assert img.width == 576
    assert f"{BASE_URL}/p/{token}" in decode_qr(img)
    lines = "\n".join(t for t, _ in receipt_lines(ReceiptData("st1", lot, None, None, BASE_URL)))
    assert "scan: your passbook" in lines
    assert token not in lines  # the token is in the QR code only


def test_qr_code_without_a_link_carries_the_lot_id() -> None:
    # a lot recorded before passbook tokens, or an edge that knows no server URL
    data = _data(None)
    assert str(data.lot.id) in decode_qr(render_receipt(data))
    keyed = make_lot(0, passbook_token=wire.new_passbook_token())
    assert str(keyed.id) in decode_qr(render_receipt(ReceiptData("st1", keyed, None, None)))


def test_worker_saves_png_and_pdf_and_prints(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    lot = make_lot(1, passbook_token=wire.new_passbook_token())
    store.record_lot(lot, lane="lane1")
    directory = Directory(
        wire.StationDirectory(
            station="st1", cooperative="c", farmers=[wire.FarmerHint(id="F001", name="李四")]
        )
    )
    worker = ReceiptWorker(
        store=store,
        directory=directory,
        station="st1",
        base_dir=tmp_path,
        printer="dummy",
        passbook_base=BASE_URL,
    )
    png, pdf = worker.make(str(lot.id)) or (None, None)
    assert png is not None
    assert pdf is not None
    with Image.open(png) as im:
        assert im.width == 576
        assert f"{BASE_URL}/p/{lot.passbook_token}" in decode_qr(im)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert worker.printed == 1
    stored = store.get_lot(str(lot.id))
    assert stored is not None
    assert stored.receipt_done
    assert worker.make(str(lot.id)) is None  # made once
    store.close()


def test_restart_makes_receipts_a_kill_interrupted(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    lots = [make_lot(i) for i in range(2)]
    for lot in lots:
        store.record_lot(lot, lane="lane1")
    worker = ReceiptWorker(store=store, directory=Directory(), station="st1", base_dir=tmp_path)
    worker.start()
    worker.stop()
    assert store.lots_without_receipt() == []
    assert worker.made == 2
    store.close()


def test_escpos_bytes_are_a_raster_image_and_a_cut() -> None:
    printer = Dummy()
    print_receipt(printer, render_receipt(_data(None)))
    out = printer.output
    assert out.startswith(b"\x1dv0")  # GS v 0: raster bit image
    assert out.rstrip(b"\n").endswith((b"\x1dVA\x00", b"\x1dV\x00", b"\x1dVA\x03"))
    assert len(out) > 576 // 8 * 500  # the whole receipt bitmap went out


def test_bad_printer_spec_is_a_clear_error() -> None:
    with pytest.raises(ReceiptError, match="unknown printer spec"):
        open_printer("bluetooth:xx")
