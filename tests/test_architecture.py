"""The layering holds: no two modules import each other (through any chain, lazy imports
included), and the edges (the CLI, the MCP server, `ui/`, `eval/`) reach `index/` only through
`rag`, and `ui/` only from the CLI, which starts the chat."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("index", "rag", "ui", "eval")
EDGES = ("rag.cli", "rag.mcp_server", "ui", "eval")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports, anywhere in it but under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in modules}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def test_no_import_cycle():
    graph = _graph()
    seen: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        seen[name] = 1
        for target in sorted(graph[name]):
            assert seen.get(target) != 1, " → ".join([*path[path.index(target):], target])
            if target not in seen:
                visit(target, [*path, target])
        seen[name] = 2

    for name in sorted(graph):
        if name not in seen:
            visit(name, [name])


def test_the_edges_import_only_rag():
    graph = _graph()
    for name, targets in graph.items():
        if not name.startswith(EDGES):
            continue
        assert not {t for t in targets if t.startswith("index")}, name
        if not name.startswith("ui"):
            starts_chat = name.startswith("rag.cli")  # `rag chat` starts the window
            assert {t for t in targets if t.startswith("ui")} <= ({"ui.launch"} if starts_chat else set()), name
