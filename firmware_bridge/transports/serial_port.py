"""Serial ports through pyserial: ``/dev/ttyUSB0``, a pty path, or ``loop://``."""

from __future__ import annotations

import serial

from firmware_bridge.errors import PortError


class SerialTransport:
    """One open serial port; reads return whatever arrived within ``timeout_s``."""

    def __init__(self, url: str, baudrate: int = 9600, timeout_s: float = 0.1) -> None:
        self.url = url
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self._port: serial.Serial | None = None

    def open(self) -> SerialTransport:
        try:
            self._port = serial.serial_for_url(
                self.url, baudrate=self.baudrate, timeout=self.timeout_s
            )
            # Bytes queued before we opened are stale readings: start from the live stream.
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortError(f"cannot open {self.url}: {exc}") from exc
        return self

    @property
    def is_open(self) -> bool:
        return self._port is not None and bool(self._port.is_open)

    def read(self, size: int = 256) -> bytes:
        """Bytes that arrived (possibly none within the timeout); raises PortError if gone."""
        if self._port is None:
            raise PortError(f"{self.url} is not open")
        try:
            data = bytes(self._port.read(1))  # waits up to the timeout for the first byte
            waiting = self._port.in_waiting if data else 0
            return data + bytes(self._port.read(min(size, waiting))) if waiting else data
        except (serial.SerialException, OSError, TypeError) as exc:
            # pyserial reports an unplugged USB adapter or a closed pty as "readiness to
            # read but returned no data" (SerialException) or EIO (OSError).
            raise PortError(f"{self.url} vanished: {exc}") from exc

    def write(self, data: bytes) -> None:
        if self._port is None:
            raise PortError(f"{self.url} is not open")
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise PortError(f"{self.url} vanished: {exc}") from exc

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except (serial.SerialException, OSError):
                pass  # already gone; nothing left to release
            self._port = None

    def __enter__(self) -> SerialTransport:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
