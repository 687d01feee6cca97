"""The one command explains itself, and every sub-command has a help line."""

import re
import signal
import sqlite3
import subprocess
import sys
import time

import httpx
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


def _demo_until_pages(home, *extra: str) -> tuple[subprocess.Popen[str], list[str]]:
    """Start the README's demo and read its output until it prints the passbook URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gongfang.cli",
            "demo",
            "--farmers",
            "2",
            "--home",
            str(home),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 180
    got_url = False
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if got_url:  # the line after "farmer passbook" is its URL
            break
        got_url = "farmer passbook" in line
    return proc, lines


def _url_after(lines: list[str], label: str) -> str:
    i = next(n for n, line in enumerate(lines) if label in line)
    url = lines[i + 1].strip()
    assert url.startswith("http://127.0.0.1:"), lines[i : i + 2]
    return url


def test_console_script_runs_demo_and_keeps_its_pages_up(tmp_path) -> None:
    """The README's demo: a simulated station day on embedded defaults, synced and paid out;
    then the three pages answer (the printed sign-ins work) until Ctrl-C."""
    proc, lines = _demo_until_pages(tmp_path)
    out = "\n".join(lines)
    try:
        assert "embedded MQTT broker started" in out, out
        m = re.search(r"edge stored (\d+) lots, outbox empty, all synced", out)
        assert m, out
        assert int(m.group(1)) >= 2
        assert "payout draft created for review" in out
        console_url = _url_after(lines, "station console")
        review_url = _url_after(lines, "cooperative review")
        passbook_url = _url_after(lines, "farmer passbook")
        assert console_url.endswith("/console")
        assert review_url.endswith("/coop/runs")
        assert re.search(r"/p/[A-Za-z0-9_-]{22,}$", passbook_url)
        who = re.search(r"审核员 reviewer: (\S+)  密码 password: (\S+)", out)
        assert who, out
        with httpx.Client(timeout=10) as http:
            page = http.get(passbook_url)
            assert page.status_code == 200
            assert "kg" in page.text
            assert "斤" in page.text
            assert http.get(console_url).status_code < 500
            base = review_url.removesuffix("/coop/runs")
            login = http.get(f"{base}/coop/login")
            assert login.status_code == 200
            signed = http.post(
                f"{base}/coop/login",
                data={"name": who[1], "password": who[2], "csrftoken": http.cookies["csrftoken"]},
                headers={"Origin": base},
            )
            runs = http.get(review_url)
            assert signed.status_code < 400, signed.text
            assert runs.status_code == 200
            assert who[1] in runs.text  # signed in as the printed reviewer
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out + rest
    assert "demo stopped" in rest
    # What the demo printed is what the server holds: each lot once, every farmer paid out.
    with sqlite3.connect(tmp_path / "server.db") as db:
        (n_lots,) = db.execute("SELECT count(*) FROM lots").fetchone()
        farmers = {r[0] for r in db.execute("SELECT DISTINCT farmer_id FROM lots")}
        (n_tokens,) = db.execute("SELECT count(*) FROM passbook_tokens").fetchone()
    assert n_lots == int(m.group(1))
    assert n_tokens == n_lots  # every receipt's QR opens its lot
    assert farmers == {"F001", "F002"}
    assert list((tmp_path / "edge" / "receipts").rglob("*.pdf"))


def test_demo_exit_after_stops_by_itself(tmp_path) -> None:
    proc, lines = _demo_until_pages(tmp_path, "--exit-after", "0.5")
    try:
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "\n".join(lines) + rest
    assert "demo stopped" in rest


def test_default_demo_tells_its_whole_story(tmp_path) -> None:
    """With the default seed every rule the demo is there to show happens and is explained:
    names and 斤, a total row, a quota split, the 共富 premium above the floors, an
    unpriced lot with its reason, 等外 at the contract's price, and a cold-room alarm."""
    res = subprocess.run(
        [sys.executable, "-m", "gongfang.cli", "demo", "--home", str(tmp_path),
         "--exit-after", "0"],
        capture_output=True, text=True, timeout=240,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    for part in (
        "张伟 F003",  # names, not bare ids
        "斤",
        "合计 total",
        "配额用完",  # F003's quota runs out: a lot split at it
        "共富价高于保底价 +",  # the premium above the floors, per farmer
        "无有效合同",  # F010: why their crates are unpriced
        "按合同等外价 4.00 元/kg",  # why 等外 crates pay little
        "冷库告警 / cold-room alarms: 1",
        "温度高于 4 °C 超过 20 分钟",
    ):
        assert part in out, part
