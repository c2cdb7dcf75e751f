"""The layout keeps itself. Every `import` in bot/ and handlers/ (at any depth: lazy and TYPE_CHECKING imports
too) is an edge of one module graph, read with `ast` without importing anything; the graph has no circle, handlers
do not import each other, the pure domain imports no framework, and the bot/ root holds only its entry modules.

Each rule is a function of a source root, so the last test shows every rule catching a tree that breaks it."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers")
ROOT_MODULES = {"__init__", "__main__", "app", "settings", "states"}  # bot/: everything else lives in a package
DOMAIN_FORBIDDEN = {"aiogram", "httpx", "sqlalchemy"}


@cache
def modules(root: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of our packages (a package is its __init__.py)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(root: Path, module: str) -> set[str]:
    """Every name the module imports, absolute; `from pkg import module` is read as the module."""
    known = modules(root)
    path = known[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, one level up per extra dot
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                names.add(candidate if candidate in known else base)
    return names


@cache
def graph(root: Path) -> dict[str, frozenset[str]]:
    """Module -> the modules of ours it imports (`bot.keyboards.menu.main_menu` is an edge to bot.keyboards.menu)."""
    known = modules(root)

    def owner(name: str) -> str:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name

    return {
        module: frozenset(t for t in map(owner, imported_names(root, module)) if t and t != module)
        for module in known
    }


def find_cycles(edges) -> list[list[str]]:
    """One circle per strongly connected group of modules, as a path that returns to its start."""
    return [_shortest_circle(group, edges) for group in strongly_connected(edges)]


def strongly_connected(edges) -> list[set[str]]:
    """The groups of two or more modules that all reach each other (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def _shortest_circle(group: set[str], edges) -> list[str]:
    """Breadth-first inside the group, from its first module back to it."""
    start = min(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(set(edges[node]) & group):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if nxt not in came_from:
                    came_from[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no circle in {group}")  # a strongly connected group always has one


# ---- the rules ---------------------------------------------------------------------------------------------------


def circles(root: Path) -> list[str]:
    edges = graph(root)
    found = []
    for group in strongly_connected(edges):
        cycle = _shortest_circle(group, edges)
        found.append(" -> ".join(cycle) + ("" if len(group) == len(cycle) - 1 else f" (in the group {sorted(group)})"))
    return found


def handler_crossings(root: Path) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in graph(root).items()
        if module.startswith("handlers.")
        for target in targets
        if target == "handlers" or target.startswith("handlers.")
    )


def domain_leaks(root: Path) -> list[str]:
    return sorted(
        f"{module} imports {name}"
        for module in modules(root)
        if module == "bot.domain" or module.startswith("bot.domain.")
        for name in imported_names(root, module)
        if name.partition(".")[0] in DOMAIN_FORBIDDEN
    )


def loose_root_modules(root: Path) -> list[str]:
    return sorted(path.stem for path in (root / "bot").glob("*.py") if path.stem not in ROOT_MODULES)


# ---- on our tree -------------------------------------------------------------------------------------------------


def test_the_scan_sees_the_code():
    assert {"bot.app", "bot.settings", "handlers", "bot.domain.money"} <= set(modules(ROOT))
    assert "handlers" in graph(ROOT)["bot.app"]
    assert "bot.keyboards.callbacks" in graph(ROOT)["bot.keyboards.menu"]


def test_no_import_circle():
    found = circles(ROOT)
    assert found == [], "import circles (lazy imports count):\n" + "\n".join(found)


def test_handlers_do_not_import_each_other():
    found = handler_crossings(ROOT)
    assert found == [], "only handlers/__init__.py may import handler modules:\n" + "\n".join(found)


def test_domain_imports_no_framework():
    found = domain_leaks(ROOT)
    assert found == [], f"bot/domain/ imports none of {sorted(DOMAIN_FORBIDDEN)}:\n" + "\n".join(found)


def test_bot_root_holds_only_entry_modules():
    found = loose_root_modules(ROOT)
    assert found == [], f"bot/ root modules beyond {sorted(ROOT_MODULES)}: {found}; move them into a package"


# ---- the rules themselves ----------------------------------------------------------------------------------------


def test_each_rule_catches_a_tree_that_breaks_it(tmp_path):
    files = {
        "bot/__init__.py": "",
        "bot/app.py": "from handlers import build_routers\n",
        "bot/helpers.py": "",  # loose in the root
        "bot/domain/__init__.py": "",
        "bot/domain/rules.py": "def f():\n    import sqlalchemy.orm\n",
        "bot/jobs/__init__.py": "",
        "bot/jobs/a.py": "from . import b\n",  # relative, `from pkg import module`
        "bot/jobs/b.py": "def later():\n    from ..jobs.a import x\n",  # a lazy edge closes the circle
        "handlers/__init__.py": "from handlers import one, two\n",
        "handlers/one.py": "from bot.jobs import a\n",
        "handlers/two.py": "if True:\n    from handlers.one import step\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert circles(tmp_path) == ["bot.jobs.a -> bot.jobs.b -> bot.jobs.a"]
    assert handler_crossings(tmp_path) == ["handlers.two imports handlers.one"]
    assert domain_leaks(tmp_path) == ["bot.domain.rules imports sqlalchemy.orm"]
    assert loose_root_modules(tmp_path) == ["helpers"]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
