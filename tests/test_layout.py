"""The layout's rules (ARCHITECTURE.md), checked on every import statement in the tree,
lazy ones inside functions included:

- edge/ and firmware_bridge/ never import server/ (they ship on station boxes);
- server/ never imports edge/ or firmware_bridge/;
- the kernel (gongfang/ but its front door: the CLI and the demo) imports no side;
- paho is imported only by edge/mqtt/ on the edge and firmware_bridge/transports/ on the bridge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIDES = ("server", "edge", "firmware_bridge", "models")
FRONT_DOOR = {"gongfang/cli.py", "gongfang/demo.py", "gongfang/demo_pages.py",
              "gongfang/demo_report.py", "gongfang/demo_bundle.py"}


def imported(path: Path) -> set[str]:
    """Top-level package names a module imports, anywhere in it."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def broken_rules(root: Path) -> list[str]:
    """Every import in ``root``'s packages that the layout forbids."""
    out: list[str] = []
    for path in sorted(root.glob("*/**/*.py")):
        rel = path.relative_to(root).as_posix()
        top = rel.split("/")[0]
        if top not in (*SIDES, "gongfang"):
            continue
        names = imported(path)
        forbidden: set[str] = set()
        if top in ("edge", "firmware_bridge"):
            forbidden |= {"server"}
        if top == "server":
            forbidden |= {"edge", "firmware_bridge"}
        if top == "gongfang" and rel not in FRONT_DOOR:
            forbidden |= set(SIDES)
        paho_ok = rel.startswith(("edge/mqtt/", "firmware_bridge/transports/"))
        if top in ("edge", "firmware_bridge") and not paho_ok:
            forbidden |= {"paho"}
        out += [f"{rel} imports {name}" for name in sorted(names & forbidden)]
    return out


def test_the_tree_keeps_the_layout() -> None:
    assert broken_rules(ROOT) == []


@pytest.mark.parametrize(
    ("rel", "source", "broken"),
    [
        ("edge/x.py", "def f():\n    from server.main import create_app\n", True),
        ("firmware_bridge/y.py", "import server.core.db\n", True),
        ("server/z.py", "from edge.app import EdgeNode\n", True),
        ("gongfang/k.py", "from models.strawberry import LABELS\n", True),
        ("edge/station/p.py", "import paho.mqtt.client as mqtt\n", True),
        ("edge/mqtt/p.py", "import paho.mqtt.client as mqtt\n", False),
        ("gongfang/cli.py", "from server import cli\n", False),
        ("edge/ok.py", "from gongfang import wire\nfrom . import sibling\n", False),
    ],
)
def test_the_check_catches_a_broken_rule(tmp_path: Path, rel: str, source: str,
                                         broken: bool) -> None:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    assert bool(broken_rules(tmp_path)) is broken
