"""An RS485 temperature/humidity probe served by pymodbus's RTU server on a pty.

The server holds one end of a :class:`~.ptylink.NullModem`; the bridge opens the other
end's path as if it were the USB-RS485 adapter. Registers follow a
:class:`~firmware_bridge.protocols.sht20_modbus.RegisterMap` (SHT20, MD02, ×100 boards)
and answer with the current :attr:`temp_c` / :attr:`rh_pct` on every read.
``stop_server()`` makes the probe go silent (the line stays), ``start_server()`` brings it
back; ``unplug()`` / ``plug()`` pull and replug the bridge's adapter.
"""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from firmware_bridge.protocols.sht20_modbus import PRESETS, RegisterMap, registers_for
from firmware_bridge.simulate.ptylink import NullModem


class SimulatedSensor:
    """A Modbus RTU probe (device ``address``) answering reads of its register map."""

    def __init__(
        self,
        link: Path | str,
        *,
        regmap: RegisterMap | str = "sht20",
        address: int = 1,
        temp_c: Decimal = Decimal("1.0"),
        rh_pct: Decimal = Decimal("92.0"),
    ) -> None:
        link = Path(link)
        self.link = link  # what the bridge opens
        self.modem = NullModem(link.with_name(link.name + ".server"), link)
        self.regmap = PRESETS[regmap] if isinstance(regmap, str) else regmap
        self.address = address
        self.temp_c = temp_c
        self.rh_pct = rh_pct
        self.reads = 0
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._server: Any = None

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: Any,
    ) -> None:
        # Called by pymodbus on every access: write the current sample into the registers.
        for reg, value in registers_for(self.regmap, self.temp_c, self.rh_pct).items():
            if 0 <= reg - start_address < len(current_registers):
                current_registers[reg - start_address] = value
        self.reads += 1

    def start(self) -> SimulatedSensor:
        self.modem.start()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sim-probe", daemon=True
        )
        self._thread.start()
        self.start_server()
        return self

    def start_server(self) -> None:
        """(Re)start answering on the line."""
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)

    async def _serve(self) -> None:
        from pymodbus import FramerType
        from pymodbus.server import ModbusSerialServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        last = max(self.regmap.temperature_register, self.regmap.humidity_register)
        device = SimDevice(
            self.address,
            simdata=[SimData(0, count=last + 1, values=0, datatype=DataType.REGISTERS)],
            action=self._action,
        )
        self._server = ModbusSerialServer(
            device, framer=FramerType.RTU, port=str(self.modem.a.link), baudrate=9600
        )
        await self._server.serve_forever(background=True)

    def stop_server(self) -> None:
        """Stop answering (the probe goes silent; the cable stays)."""
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop).result(10)
            self._server = None

    def unplug(self) -> None:
        """Pull the bridge's USB-RS485 adapter: its path disappears."""
        self.modem.b.unplug()

    def plug(self) -> None:
        """Plug the adapter back in at the same path."""
        self.modem.b.plug()

    def stop(self) -> None:
        self.stop_server()
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.modem.stop()

    def __enter__(self) -> SimulatedSensor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
