"""The one command explains itself, and every sub-command has a help line."""

import re
import sqlite3
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from gongfang.cli import app

SUBCOMMANDS = [
    "server",
    "payouts",
    "edge",
    "export-photos",
    "bridge",
    "simulate",
    "grade",
    "train",
    "evaluate",
    "demo",
]


def test_root_help_lists_every_subcommand() -> None:
    res = CliRunner().invoke(app, ["--help"])
    assert res.exit_code == 0
    for name in SUBCOMMANDS:
        assert name in res.output


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help(name: str) -> None:
    res = CliRunner().invoke(app, [name, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage" in res.output


def test_console_script_runs_demo(tmp_path) -> None:
    """The README's demo: a simulated station day on embedded defaults, synced and paid out."""
    out = subprocess.run(
        [sys.executable, "-m", "gongfang.cli", "demo", "--farmers", "2", "--home", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "embedded MQTT broker started" in out.stdout
    m = re.search(r"edge stored (\d+) lots, outbox empty, all synced", out.stdout)
    assert m, out.stdout
    assert int(m.group(1)) >= 2
    assert "payout draft created for review" in out.stdout
    # What the demo printed is what the server holds: each lot once, every farmer paid out.
    with sqlite3.connect(tmp_path / "server.db") as db:
        (n_lots,) = db.execute("SELECT count(*) FROM lots").fetchone()
        farmers = {r[0] for r in db.execute("SELECT DISTINCT farmer_id FROM lots")}
    assert n_lots == int(m.group(1))
    assert farmers == {"F001", "F002"}
    assert list((tmp_path / "edge" / "receipts").rglob("*.pdf"))
