"""The README's sample cooperative: it matches its JSON Schema, and the README's server
commands work on it as written (import, run, approve by another person, export)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from gongfang.cli import app
from server.importer.schema import Bundle, bundle_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cooperative.json"
SCHEMA = ROOT / "examples" / "cooperative.schema.json"


def test_committed_schema_is_the_importers() -> None:
    assert json.loads(SCHEMA.read_text(encoding="utf-8")) == bundle_schema(), (
        "regenerate: python -m server.importer.schema > examples/cooperative.schema.json"
    )


def test_example_is_a_valid_bundle_and_the_readme_names_it() -> None:
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    bundle = Bundle.model_validate(doc)
    assert bundle.cooperatives
    assert bundle.contracts
    assert bundle.lots
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "gongfang server import examples/cooperative.json" in readme
    assert "examples/cooperative.schema.json" in readme


def _cli(*args: str) -> str:
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res.stdout


def test_readme_commands_on_the_example(db_url: str, tmp_path: Path) -> None:
    out = _cli("server", "import", str(EXAMPLE), "--db", db_url)
    assert "lots_accepted=8" in out
    run = json.loads(
        _cli(
            "payouts",
            "run",
            "--cooperative",
            "C01",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-15",
            "--json",
            "--by",
            "李会计",
            "--db",
            db_url,
        )
    )
    paid = {line["farmer"]: line for line in run["lines"]}
    assert set(paid) == {"F001", "F002", "F003"}  # F004 sold nothing, F005 has no contract
    assert len(run["unpriced"]) == 1  # F005's lot waits for review
    assert all(line["total_fen"] > 0 for line in run["lines"])
    _cli("payouts", "approve", str(run["run"]), "--by", "王主任", "--db", db_url)
    bank = tmp_path / "bank.csv"
    _cli("payouts", "export", str(run["run"]), "--out", str(bank), "--db", db_url)
    rows = list(csv.DictReader(io.StringIO(bank.read_text(encoding="utf-8-sig"))))
    assert sum(int(r["应付(分) total_fen"]) for r in rows) == sum(
        line["total_fen"] for line in run["lines"]
    )
    assert {r["银行账号 bank_account"] for r in rows} >= {"6222 0212 3456 0001"}
