"""The layout's rules, read from the source: no module imports another module's private
names, no import circle among the package's modules (imports inside functions count),
and only ``checkout/flows/`` imports both the store and a gateway."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "checkout"
#: What talks to a gateway. ``checkout.gateway.base`` (the protocol and the value types
#: Outcome, CryptoQuote, SavedCard) is a vocabulary, not a gateway.
GATEWAY_MODULES = {"checkout.gateway", "checkout.gateway.client", "checkout.gateway.sandbox"}
STORE_MODULE = "checkout.store"
#: The app factory wires every resource (the store, the sandbox's blueprint) and nothing else.
FACTORY = "checkout"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _resolve(module: str, importer: str, level: int) -> str:
    if not level:
        return module
    base = _package_of(importer, MODULES[importer]).split(".")
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _imports(name: str) -> list[tuple[str, str | None, int]]:
    """(module, imported name or None, line) of every import in ``name``, anywhere."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node.module or "", name, node.level)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:  # "from . import tokens": the module itself
                    out.append((sub, None, node.lineno))
                else:
                    out.append((target, alias.name, node.lineno))
    return [(m, n, line) for m, n, line in out if m == "checkout" or m.startswith("checkout.")]


def test_the_rules_see_the_package():
    assert {"checkout", "checkout.flows.payment", "checkout.views.pay", "checkout.store"} <= set(MODULES)
    assert any(m == "checkout.flows.payment" for m, _n, _l in _imports("checkout.views.pay"))


def test_no_private_names_imported_across_modules():
    offences = []
    for name in MODULES:
        for module, imported, line in _imports(name):
            if imported and imported.startswith("_") and not imported.startswith("__") and module != name:
                offences.append(f"{MODULES[name].relative_to(PACKAGE.parent)}:{line} imports {module}.{imported}")
        # module.attribute on an imported module: "from .. import pay" then "pay._theme"
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _resolve(node.module or "", name, node.level)
                for alias in node.names:
                    if f"{target}.{alias.name}" in MODULES:
                        aliases[alias.asname or alias.name] = f"{target}.{alias.name}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                    and node.attr.startswith("_") and not node.attr.startswith("__"):
                offences.append(f"{MODULES[name].relative_to(PACKAGE.parent)}:{node.lineno} uses "
                                f"{aliases[node.value.id]}.{node.attr}")
    assert not offences, "\n".join(offences)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for module, _imported, _line in _imports(name):
            while module not in MODULES and "." in module:
                module = module.rpartition(".")[0]
            if module in MODULES and module != name:
                graph[name].add(module)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_circles():
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]  # the check itself finds one
    assert _cycles(_graph()) == []


def test_only_flows_call_both_the_store_and_a_gateway():
    graph = _graph()
    both = [name for name, deps in graph.items()
            if STORE_MODULE in deps and deps & GATEWAY_MODULES]
    allowed = {name for name in both if name.startswith("checkout.flows.") or name == FACTORY}
    assert set(both) - allowed == set(), sorted(set(both) - allowed)
    assert {"checkout.flows.payment", "checkout.flows.direct"} <= set(both)


def test_views_never_call_a_gateway():
    """Views call flows: they import nothing of checkout.gateway, not even its types."""
    graph = _graph()
    offenders = sorted(name for name, deps in graph.items() if name.startswith("checkout.views.")
                       and any(d == "checkout.gateway" or d.startswith("checkout.gateway.") for d in deps))
    assert offenders == []
    assert "checkout.gateway" in graph["checkout.flows.payment"]  # the check sees a gateway import
