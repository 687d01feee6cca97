"""No import circles: no two modules of the tree import each other, directly or round a
ring, counting every import (at the top, inside functions, and under TYPE_CHECKING, since a
type-only circle still ties the two modules into one room). A package importing its own
submodules, and a submodule its package, do not count: that is how packages are made."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gongfang", "server", "edge", "firmware_bridge", "models")


def module_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Module → the tree's modules it imports."""
    files: dict[str, Path] = {}
    for pkg in packages:
        for path in (root / pkg).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = path

    def known(name: str) -> str | None:  # the module a dotted name is, or lives in
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        here = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here[: len(here) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets.add(base)
                targets.update(f"{base}.{a.name}" for a in node.names)
        found = {known(t) for t in targets}
        graph[mod] = {m for m in found if m and m != mod and not mod.startswith(m + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_the_tree_has_no_import_circles() -> None:
    assert cycles(module_graph(ROOT)) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # a type-only import closes a circle too
        (
            {
                "a.py": "from p.b import f\n",
                "b.py": "import typing\nif typing.TYPE_CHECKING:\n    from p.a import g\n",
            },
            [["p.a", "p.b"]],
        ),
        # round a ring of three, one of them lazy and relative
        (
            {
                "a.py": "import p.b\n",
                "b.py": "from p import c\n",
                "c.py": "def f():\n    from .a import x\n",
            },
            [["p.a", "p.b", "p.c"]],
        ),
        # a package and its submodules, and a lower module both use: no circle
        (
            {
                "__init__.py": "from p.a import x\n",
                "a.py": "from p import view\nfrom p.view import View\n",
                "b.py": "from p.view import View\nfrom p.a import x\n",
                "view.py": "class View: ...\n",
            },
            [],
        ),
    ],
)
def test_circles_are_found(tmp_path: Path, files: dict[str, str], expected: list) -> None:
    (tmp_path / "p").mkdir()
    for name, text in files.items():
        (tmp_path / "p" / name).write_text(text, encoding="utf-8")
    assert cycles(module_graph(tmp_path, ("p",))) == expected
