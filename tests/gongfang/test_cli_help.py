"""Every command's help reads Chinese first, and no option shows Typer's ``<bool>`` tags."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from gongfang.cli import command

CJK = re.compile(r"[\u4e00-\u9fff]")


def _walk(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        if not sub.hidden:
            yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(command()))


def test_the_tree_is_walked() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"demo", "server import", "payouts approve", "edge", "grade"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "gongfang")
def test_help_is_chinese_first_without_type_tags(path: tuple[str, ...]) -> None:
    res = CliRunner().invoke(command(), [*path, "--help"], terminal_width=200)
    assert res.exit_code == 0, res.output
    cmd = dict(COMMANDS)[path]
    first = (cmd.help or cmd.short_help or "").strip()
    assert CJK.match(first), f"{' '.join(path)}: help starts in English: {first[:60]!r}"
    options = [line for line in res.output.splitlines() if "--" in line]
    for tag in ("<bool>", "<str>", "<int>", "<float>", "<path>"):
        assert not [o for o in options if tag in o], f"{' '.join(path)} shows {tag}"
    assert "显示此帮助" in res.output
    # every option says what it is for, Chinese first
    for param in cmd.params:
        if param.param_type_name == "option" and not param.hidden:
            text = (getattr(param, "help", None) or "").strip()
            assert CJK.search(text[:40]), f"{' '.join(path)} {param.opts}: {text[:50]!r}"
