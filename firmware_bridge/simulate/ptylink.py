"""Pseudo-terminals standing in for serial cables.

:class:`PtyPort` is a USB-serial adapter: its device end appears at a fixed path (a
symlink to the pty slave, which the bridge opens like ``/dev/ttyUSB0``) and the simulator
holds the other end. ``unplug()`` closes it and removes the path; ``plug()`` brings a new
one back at the same path. :class:`NullModem` joins two such ports back to back, for a
pymodbus server that wants a path of its own.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading
import tty
from pathlib import Path


class PtyPort:
    """One pty with its slave end published at ``link``."""

    def __init__(self, link: Path | str) -> None:
        self.link = Path(link)
        self.master: int | None = None
        self._slave: int | None = None
        self.slave_name = ""

    def plug(self) -> PtyPort:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes as a serial cable moves them
        os.set_blocking(master, False)
        self.master, self._slave = master, slave  # keep the slave open: the pty stays usable
        self.slave_name = os.ttyname(slave)
        tmp = self.link.with_name(self.link.name + ".tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(self.slave_name)
        os.replace(tmp, self.link)
        return self

    def unplug(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        for fd in (self.master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self._slave = None

    @property
    def plugged(self) -> bool:
        return self.master is not None

    def write(self, data: bytes) -> int:
        """Write what fits; like a serial line with nobody listening, the rest is lost."""
        if self.master is None:
            return 0
        try:
            return os.write(self.master, data)
        except BlockingIOError:
            return 0
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EBADF):
                return 0
            raise

    def read(self, timeout_s: float) -> bytes:
        """What the bridge wrote, waiting at most ``timeout_s``."""
        if self.master is None:
            return b""
        try:
            ready, _, _ = select.select([self.master], [], [], timeout_s)
            return os.read(self.master, 4096) if ready else b""
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EBADF):
                return b""
            raise

    def __enter__(self) -> PtyPort:
        return self.plug()

    def __exit__(self, *exc: object) -> None:
        self.unplug()


class NullModem:
    """Two ptys wired back to back: what one side writes, the other reads."""

    def __init__(self, link_a: Path | str, link_b: Path | str) -> None:
        self.a = PtyPort(link_a)
        self.b = PtyPort(link_b)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> NullModem:
        self.a.plug()
        self.b.plug()
        self._stop.clear()
        self._thread = threading.Thread(target=self._relay, name="null-modem", daemon=True)
        self._thread.start()
        return self

    def _relay(self) -> None:
        while not self._stop.is_set():
            ma, mb = self.a.master, self.b.master
            if ma is None or mb is None:  # one end unplugged: the line is cut until replugged
                self._stop.wait(0.05)
                continue
            try:
                ready, _, _ = select.select([ma, mb], [], [], 0.1)
            except (OSError, ValueError):  # an end was unplugged while waiting
                continue
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except (BlockingIOError, OSError):
                    continue
                (self.b if fd == ma else self.a).write(data)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        self.a.unplug()
        self.b.unplug()

    def __enter__(self) -> NullModem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
