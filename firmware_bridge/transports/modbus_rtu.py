"""Modbus RTU register reads through pymodbus's serial client (bytes in, registers out)."""

from __future__ import annotations

import logging

from firmware_bridge.errors import DeviceTimeout, PortError

# pymodbus logs every missed reply with a hex dump at ERROR; the bridge logs its own,
# clearer, Chinese-first lines instead.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


class ModbusRtuTransport:
    """A pymodbus serial client on one RS485 line."""

    def __init__(self, port: str, baudrate: int = 9600, timeout_s: float = 1.0) -> None:
        from pymodbus import FramerType
        from pymodbus.client import ModbusSerialClient

        self.port = port
        self._client = ModbusSerialClient(
            port,
            framer=FramerType.RTU,
            baudrate=baudrate,
            bytesize=8,
            parity="N",
            stopbits=1,
            timeout=timeout_s,
            retries=0,
        )

    def open(self) -> ModbusRtuTransport:
        try:
            ok = self._client.connect()
        except Exception as exc:  # pymodbus raises assorted errors for a missing port
            raise PortError(f"cannot open {self.port}: {exc}") from exc
        if not ok:
            raise PortError(f"cannot open {self.port}")
        return self

    def read_registers(self, function: int, address: int, count: int, device_id: int) -> list[int]:
        """Read ``count`` registers with function 3 (holding) or 4 (input)."""
        from pymodbus.exceptions import ConnectionException, ModbusException

        read = (
            self._client.read_input_registers
            if function == 4
            else self._client.read_holding_registers
        )
        try:
            rr = read(address, count=count, device_id=device_id)
        except ConnectionException as exc:
            raise PortError(f"{self.port}: {exc}") from exc
        except (ModbusException, OSError) as exc:
            if not self._client.connected:
                raise PortError(f"{self.port} vanished: {exc}") from exc
            raise DeviceTimeout(f"{self.port} device {device_id}: {exc}") from exc
        if rr.isError():
            raise DeviceTimeout(f"{self.port} device {device_id}: Modbus exception {rr}")
        return list(rr.registers)

    def close(self) -> None:
        self._client.close()
