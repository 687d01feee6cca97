"""The one command explains itself, and every sub-command has a help line."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from gongfang.cli import app

SUBCOMMANDS = [
    "server",
    "payouts",
    "edge",
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
    out = subprocess.run(
        [sys.executable, "-m", "gongfang.cli", "demo", "--seconds", "5"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"GONGFANG_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "embedded MQTT broker" in out.stdout
