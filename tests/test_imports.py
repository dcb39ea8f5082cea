"""The package's import graph: no two modules import each other, directly or through others (imports inside
functions counted), and imports go downward only (DESIGN.md): tasks and architectures import neither each other nor
anything above them, theory imports no runner, and the rooms of runners import one way (cli -> reports ->
execution -> training)."""

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "expressivity"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> nx.DiGraph:
    """module -> module for every import statement anywhere in a module (top level or inside a function); a
    `from package import name` counts as importing the submodule `package.name` when there is one."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            graph.add_edges_from((name, t) for t in targets if t in modules and t != name)
    return graph


def test_no_module_imports_itself_through_others():
    cycles = [sorted(c) for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


LAYERS = [  # a module may import its own layer and the layers after it, never one before it
    ["expressivity.runners.cli"],
    ["expressivity.runners.reports"],
    ["expressivity.runners.execution"],
    ["expressivity.runners.training"],
    ["expressivity.theory"],
    ["expressivity.tasks", "expressivity.architectures"],
]


def _layer(module: str) -> tuple[int, str] | None:
    for depth, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                return depth, prefix
    return None


def test_imports_go_downward_only():
    upward = []
    for a, b in import_graph().edges:
        la, lb = _layer(a), _layer(b)
        if la is None or lb is None:
            continue
        if lb[0] < la[0] or (lb[0] == la[0] and lb[1] != la[1]):  # upward, or sideways between tasks/architectures
            upward.append(f"{a} -> {b}")
    assert not upward, "imports against the layering: " + "; ".join(sorted(upward))
