"""Makes each stored lot's receipt off the lot's write path, on its own thread.

A lot is marked ``receipt_done`` only after its PNG and PDF are on disk (and it was
printed, if a printer is configured), so a restart makes the receipts a kill interrupted.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

from edge.errors import ReceiptError
from edge.logonce import OnceLog
from edge.outbox.store import EdgeStore
from edge.station.directory import Directory

log = logging.getLogger(__name__)


class ReceiptWorker:
    def __init__(
        self,
        *,
        store: EdgeStore,
        directory: Directory,
        station: str,
        base_dir: Path,
        printer: str | None = None,
        passbook_base: str | None = None,
    ) -> None:
        self._store = store
        self._directory = directory
        self._station = station
        self.base_dir = Path(base_dir)
        self._printer_spec = printer
        self._passbook_base = passbook_base
        self._printer: object | None = None
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.made = 0
        self.printed = 0
        self.errors = 0
        self.last_error: str | None = None
        self._once = OnceLog(log)

    def start(self) -> None:
        for lot_id in self._store.lots_without_receipt():
            self._queue.put(lot_id)
        self._thread = threading.Thread(target=self._run, name="edge-receipts", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def submit(self, lot_id: str) -> None:
        self._queue.put(lot_id)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while True:
            lot_id = self._queue.get()
            if lot_id is None:
                return
            try:
                self.make(lot_id)
            except Exception as exc:  # one bad receipt must not stop the others
                self.errors += 1
                self.last_error = str(exc)[:300]
                log.exception("收购小票生成失败 / receipt for lot %s failed", lot_id)

    def make(self, lot_id: str) -> tuple[Path, Path] | None:
        """Render, save and (if configured) print one lot's receipt."""
        # imaging and printer libraries load with the first receipt, not at start-up
        from edge.receipts.printer import open_printer, print_receipt
        from edge.receipts.render import ReceiptData, receipt_paths, render_receipt, save_receipt

        stored = self._store.get_lot(lot_id)
        if stored is None or stored.receipt_done:
            return None
        lot = stored.record
        hint = self._directory.farmer(lot.farmer)
        estimate = self._directory.estimate(
            farmer_id=lot.farmer,
            product=lot.product,
            grade=lot.grade,
            net_g=lot.net_g,
            captured_at=lot.captured_at,
        )
        data = ReceiptData(
            self._station, lot, hint.name if hint else None, estimate, self._passbook_base
        )
        image = render_receipt(data)
        png, pdf = receipt_paths(self.base_dir, lot)
        save_receipt(image, png, pdf)
        if self._printer_spec:
            try:
                if self._printer is None:
                    self._printer = open_printer(self._printer_spec)
                print_receipt(self._printer, image)
                self.printed += 1
                self._once.resolved("printer", "打印机已恢复 / printer working again")
            except ReceiptError as exc:
                # The files exist; a printer fault is shown, the lot is not held back.
                self._printer = None
                self.errors += 1
                self.last_error = str(exc)
                # once per cause: every receipt would repeat it while the printer is off
                self._once.problem("printer", str(exc), logging.ERROR, "%s", exc)
        self._store.mark_receipt_done(lot_id)
        self.made += 1
        return png, pdf
