"""The modules of tsrnn import in one direction: from their own layer or the layers below.

The sources are read with :mod:`ast`, nothing is imported: every ``import tsrnn...`` and
``from tsrnn... import`` counts, at module level and inside functions (a deferred import is a
dependency all the same). Imports by name at run time (``importlib.import_module``, as the
lazy exports of ``tsrnn/__init__.py`` do) are not seen.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tsrnn"

# The intended order, lowest first. A module may import modules of its own layer or of a lower
# one. A tsrnn/_cuda/<name>.py module is the device twin of tsrnn/<name>.py and sits in its
# layer.
LAYERS: list[tuple[str, list[str]]] = [
    (
        "foundations and kernels",
        [
            # Only __version__ is imported from the package itself; its lazy exports load by name.
            "__init__",
            "_config",
            "_params",
            "kernels/__init__",
            "kernels/_ahead",
            "kernels/_blas",
            "kernels/_cells",
            "kernels/_cpu",
            "kernels/_functional",
            "kernels/_math",
            "kernels/_threads",
            "kernels/cuda",
            "_cuda/__init__",
            "_cuda/_compile",
            "_cuda/kernels",
        ],
    ),
    ("network", ["network", "_cuda/network"]),
    ("optim", ["optim", "_cuda/optim"]),
    ("losses", ["losses", "_cuda/losses"]),
    ("training", ["_epochs", "training", "_cuda/training"]),
    ("data", ["_timeindex", "_validation", "preprocessing", "windowing", "_lags", "_sequences", "_panel"]),
    ("estimator base", ["_state", "_modelfile", "_windows", "_base", "_local"]),
    ("estimators", ["regressor", "classifier", "forecaster"]),
    ("tools", ["model_selection", "persistence", "plotting", "datasets", "metrics"]),
    ("command line", ["cli", "__main__"]),
]

# (importer, imported) pairs allowed against the order, each with why; keep it empty.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    """``kernels/_cpu`` for tsrnn/kernels/_cpu.py, ``kernels/__init__`` for its package."""
    return path.relative_to(PACKAGE).with_suffix("").as_posix()


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def resolve(dotted: str, known: set[str]) -> str | None:
    """The module of ``known`` that a dotted name denotes exactly, or None."""
    parts = dotted.split(".")
    if parts[0] != "tsrnn":
        return None
    rest = "/".join(parts[1:])
    if rest in known:
        return rest
    package = f"{rest}/__init__" if rest else "__init__"
    return package if package in known else None


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The tsrnn modules that module ``name`` imports, anywhere in its source."""
    found = set()
    package_parts = ["tsrnn", *name.split("/")[:-1]]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            pairs = [(alias.name, resolve(alias.name, known)) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package_parts[: len(package_parts) - node.level + 1])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            # ``from tsrnn.kernels import _cpu`` imports a module; ``from tsrnn.training import
            # train`` imports from one.
            module = resolve(origin, known)
            pairs = [(origin, resolve(f"{origin}.{alias.name}", known) or module) for alias in node.names]
        else:
            continue
        for origin, target in pairs:
            assert target is not None or origin.split(".")[0] != "tsrnn", f"{name}: no module {origin!r}"
            if target is not None and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports(name, path, known) for name, path in found.items()}


def layer_of() -> dict[str, int]:
    layers = {}
    for index, (_, names) in enumerate(LAYERS):
        for name in names:
            assert name not in layers, f"{name} is in two layers"
            layers[name] = index
    return layers


def test_every_module_has_a_layer():
    missing = sorted(set(modules()) - set(layer_of()))
    stale = sorted(set(layer_of()) - set(modules()))
    assert not missing, f"add these modules of tsrnn to LAYERS in {__file__}: {missing}"
    assert not stale, f"LAYERS names modules that do not exist: {stale}"


def test_no_module_imports_from_a_higher_layer():
    layers = layer_of()
    upward = [
        f"{importer} ({LAYERS[layers[importer]][0]}) imports {imported} ({LAYERS[layers[imported]][0]})"
        for importer, targets in sorted(graph().items())
        for imported in sorted(targets)
        if layers[imported] > layers[importer] and (importer, imported) not in KNOWN_EXCEPTIONS
    ]
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_import_cycles():
    edges = {
        importer: {imported for imported in targets if (importer, imported) not in KNOWN_EXCEPTIONS}
        for importer, targets in graph().items()
    }
    cycles = []
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for target in sorted(edges[name]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[name] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles among tsrnn's modules:\n" + "\n".join(cycles)


def test_known_exceptions_are_still_needed():
    edges = graph()
    stale = [pair for pair in KNOWN_EXCEPTIONS if pair[1] not in edges.get(pair[0], set())]
    assert not stale, f"remove these from KNOWN_EXCEPTIONS, the imports are gone: {stale}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import tsrnn.kernels._cpu", {"kernels/_cpu"}),
        ("from tsrnn.kernels import _cpu, _cells", {"kernels/_cpu", "kernels/_cells"}),
        ("from tsrnn.training import train", {"training"}),
        ("from tsrnn import __version__", {"__init__"}),
        ("def f():\n    from tsrnn._cuda.network import predict", {"_cuda/network"}),
        ("from . import optim", {"optim"}),
        ("import numpy", set()),
    ],
)
def test_the_scan_sees_each_form_of_import(tmp_path, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source + "\n")
    assert imports("probe", path, set(modules())) == expected
