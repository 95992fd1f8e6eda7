"""The import contract (README, Layout): the kernel below the features below the faces.

Every module of awx_eventdebug is parsed, imports inside functions included, and each import of
the app is an edge between two packages (a subpackage, or a module at the top). The kernel
imports only the kernel; no feature imports a face; no two packages import each other, however
indirectly. A failure lists each offending edge as ``file:line imports module``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import awx_eventdebug

ROOT = Path(awx_eventdebug.__file__).parent
APP = awx_eventdebug.__name__

# What every feature may use: settings, the database cursor, errors, times, serializer fields,
# the window rule, the app's tables and their history, AWX's permission rule.
KERNEL = {
    APP,  # its __init__: the version
    "columns",
    "conf",
    "db",
    "errors",
    "fields",
    "jsondoc",
    "migrations",
    "models",
    "percentiles",
    "permissions",
    "secrets",
    "sections",
    "timeutil",
    "window",
}
FEATURES = {
    "awx",
    "channels",
    # The system checks read what features know (the layer backends, the capture's logger), and
    # the doctor (health) shows them: a feature, not the kernel.
    "checks",
    "health",
    "lag",
    "listen",
    "maintenance",
    "overflow",
    "path",
}
FACES = {
    "admin",
    "api",
    # ready() is where Django enters the app: it registers the checks and starts the features'
    # capture and sampler, like a face calling them, and nothing imports it.
    "apps",
    "cli",
    "dashboard",
    "management",
    "middleware",
    "templatetags",
    "urls",
}
LAYERS = {"kernel": KERNEL, "features": FEATURES, "faces": FACES}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports_of(module: str, path: Path):
    """(line, module) of each import of the app in ``path``, wherever it stands."""
    own_package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = own_package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            # ``from . import membership`` imports a module, ``from .conf import get_config`` a name.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names
            ]
        else:
            continue
        for target in dict.fromkeys(targets):
            if target == APP or target.startswith(APP + "."):
                yield node.lineno, target


def package_edges() -> dict[tuple[str, str], list[str]]:
    """{(importing package, imported package): ["file:line imports module", ...]}"""
    edges = defaultdict(list)
    for module, path in MODULES.items():
        for line, target in imports_of(module, path):
            if package_of(module) != package_of(target):
                where = path.relative_to(ROOT.parent)
                edges[package_of(module), package_of(target)].append(f"{where}:{line} imports {target}")
    return edges


def cycles(edges) -> list[set[str]]:
    """The strongly connected components of more than one package (Tarjan's algorithm)."""
    graph = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component, member = set(), None
            while member != node:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def listing(edges, wanted) -> str:
    return "\n".join(
        f"{source} -> {target}:\n" + "\n".join(f"    {site}" for site in sites)
        for (source, target), sites in sorted(edges.items())
        if wanted(source, target)
    )


def test_every_package_is_in_one_layer():
    packages = {package_of(module) for module in MODULES}
    placed = [name for layer in LAYERS.values() for name in layer]
    assert len(placed) == len(set(placed)), "a package placed in two layers"
    assert packages - set(placed) == set(), "place each new package in KERNEL, FEATURES or FACES"


def test_imports_inside_functions_and_of_the_package_root_count():
    edges = package_edges()
    assert ("apps", "path") in edges  # only inside ready()
    assert ("api", APP) in edges  # from .. import __version__
    assert ("listen", "channels") in edges  # from ..channels.backends import BACKENDS


def test_cycles_are_found_however_long():
    edges = {("a", "b"): [], ("b", "c"): [], ("c", "a"): [], ("c", "d"): [], ("d", "e"): []}
    assert cycles(edges) == [{"a", "b", "c"}]


def test_the_kernel_imports_no_feature_and_no_face():
    offending = listing(package_edges(), lambda source, target: source in KERNEL and target not in KERNEL)
    assert not offending, f"the kernel imports above itself:\n{offending}"


def test_no_feature_imports_a_face():
    offending = listing(package_edges(), lambda source, target: source in FEATURES and target in FACES)
    assert not offending, f"features import faces:\n{offending}"


def test_no_cycles_between_packages():
    edges = package_edges()
    found = cycles(edges)
    offending = "\n".join(
        f"cycle {sorted(component)}:\n{listing(edges, lambda s, t, c=component: s in c and t in c)}"
        for component in found
    )
    assert not found, f"packages that import each other:\n{offending}"
