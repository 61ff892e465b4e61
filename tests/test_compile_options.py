"""Numba's compilers are called in one place each: the CPU's in tsrnn/_config.py, CUDA's in tsrnn/_cuda/_compile.py.

Every other module decorates with their ``jit``/``inline_jit`` or ``kernel``/``device``/
``device_function``, so that the compilation options (cache, ``nogil``, error model, device
functions) are set once. The sources are read with :mod:`ast`, as in ``test_layers``: nothing is
imported, and every spelling counts (``numba.njit``, ``from numba import njit``, ``@cuda.jit``
with or without arguments, ``numba.cuda.jit``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tsrnn"

# Numba's compiling decorators, by the namespace they come from, and the one module that may use each.
CPU_COMPILERS = {"njit", "jit", "generated_jit", "vectorize", "guvectorize", "cfunc", "stencil"}
OWNERS = {"numba": "_config", "numba.cuda": "_cuda/_compile"}


def dotted(node: ast.AST) -> str | None:
    """``numba.cuda`` for the expression ``numba.cuda``; None for anything but names and attributes."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def compiler_uses(source: str) -> list[tuple[int, str]]:
    """Each reference to one of Numba's compilers in ``source``: (line, the namespace it comes from)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in ("numba", "numba.cuda"):
            names = {"jit"} if node.module == "numba.cuda" else CPU_COMPILERS
            found += [(node.lineno, node.module) for alias in node.names if alias.name in names]
        elif isinstance(node, ast.Attribute):
            base = dotted(node.value)
            if base in ("cuda", "numba.cuda") and node.attr == "jit":
                found.append((node.lineno, "numba.cuda"))
            elif base == "numba" and node.attr in CPU_COMPILERS:
                found.append((node.lineno, "numba"))
    return found


def module_name(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").as_posix()


def test_only_the_compile_modules_call_numbas_compilers():
    misplaced = [
        f"{module_name(path)}:{line} uses {namespace}'s compiler; decorate with tsrnn/{OWNERS[namespace]}.py's"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, namespace in compiler_uses(path.read_text())
        if module_name(path) != OWNERS[namespace]
    ]
    assert not misplaced, "\n".join(misplaced)


def test_the_compile_modules_do_call_them():
    # Guards the scan itself: were it blind, the test above would pass for nothing.
    for namespace, owner in OWNERS.items():
        assert namespace in {n for _, n in compiler_uses((PACKAGE / f"{owner}.py").read_text())}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import numba\nf = numba.njit(cache=True)(g)", ["numba"]),
        ("from numba import njit\n@njit\ndef f(): pass", ["numba"]),
        ("from numba import prange, jit", ["numba"]),
        ("from numba import cuda\n@cuda.jit(device=True)\ndef f(): pass", ["numba.cuda"]),
        ("from numba import cuda\n@cuda.jit\ndef f(): pass", ["numba.cuda"]),
        ("import numba.cuda\nk = numba.cuda.jit(f)", ["numba.cuda"]),
        ("from numba.cuda import jit", ["numba.cuda"]),
        ("from tsrnn._config import jit\n@jit\ndef f(): pass", []),
        ("from tsrnn._cuda._compile import device, kernel\n@device\ndef f(): pass", []),
        ("from numba import cuda\ni = cuda.grid(1)", []),
    ],
)
def test_the_scan_sees_each_spelling(source, expected):
    assert [namespace for _, namespace in compiler_uses(source)] == expected
