"""The source files a stage runs: a module and every project module it imports, transitively.

Used by the compiler (they become the stage's DVC deps) and by the runners (their hashes
are the code identity in the lineage record), so the two always name the same files.
Standard library only.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from repro.contract.methods import stage_modules


def _module_file(root: Path, module: str) -> Path | None:
    parts = module.split(".")
    as_pkg = root.joinpath(*parts, "__init__.py")
    as_mod = root.joinpath(*parts[:-1], parts[-1] + ".py")
    if as_mod.is_file():
        return as_mod
    if as_pkg.is_file():
        return as_pkg
    return None


def _stamp(file: Path) -> tuple[int, int]:
    st = file.stat()
    return st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=4096)
def _imports(file: Path, parts: tuple[str, ...], _mtime: int, _size: int) -> tuple[str, ...]:
    """Every module name an import statement in ``file`` (module ``parts``) names, read once
    per file version (a compile walks the same files for every stage)."""
    is_pkg = file.name == "__init__.py"
    tree = ast.parse(file.read_text(encoding="utf-8"), str(file))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = list(parts) if is_pkg else list(parts[:-1])
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            out += [base] + [f"{base}.{a.name}" for a in node.names]
    return tuple(out)


def code_deps(
    root: Path, *modules: str, packages: tuple[str, ...] = ("runners", "repro")
) -> list[str]:
    """Source files of ``modules`` and every module of ``packages`` they import (transitively).

    Found by reading the import statements (including imports inside functions), so the
    list is exactly what the stage can run. Empty when the package is not in the workspace
    (a workspace made by ``repro init`` runs the installed runners).
    """
    seen: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        file = _module_file(root, mod)
        if file is None:
            continue
        seen[mod] = file
        # a package's __init__ runs when anything inside it is imported
        parts = mod.split(".")
        for i in range(1, len(parts)):
            todo.append(".".join(parts[:i]))
        for name in _imports(file, tuple(parts), *_stamp(file)):
            if name.split(".")[0] in packages:
                todo.append(name)
    files = sorted(
        str(f.relative_to(root)).replace("\\", "/")
        for f in seen.values()
        if not (f.name == "__init__.py" and f.stat().st_size == 0)
    )
    return files


def stage_code(root: Path, stage: str, method: str | None = None) -> list[str]:
    """The source files stage ``stage`` runs (for ``train``, with its method's module)."""
    return code_deps(root, *stage_modules(stage, method))
