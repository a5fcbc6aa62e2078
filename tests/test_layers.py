"""The layer rules between the two planes, read from every module's import statements.

- ``repro`` (control plane) never imports ``runners`` (data plane), not even in a function;
- ``runners`` imports from ``repro`` only ``repro.contract`` and ``repro.spec`` (the schema);
- ``repro.contract`` imports nothing else from ``repro`` (it is upstream of both planes);
- ``repro`` imports no ML library at module level (``repro validate`` stays instant).

Our own check over the AST rather than import-linter: no extra dependency, and it sees
what the rules need: imports inside functions, ``importlib.import_module("...")`` and
``__import__("...")`` with a literal name, and whether an import runs at module level.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ML_LIBRARIES = ("torch", "transformers", "datasets", "peft", "trl", "mlflow", "bitsandbytes",
                "accelerate")
RUNNERS_MAY_IMPORT = ("repro.contract", "repro.spec")


@dataclass(frozen=True)
class Import:
    file: str  # relative to the repository root
    line: int
    name: str  # the dotted module imported
    module_level: bool  # runs when the module is imported (not in a function or TYPE_CHECKING)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: imports {self.name}"


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def imports_of(source: str, file: str, module: str, is_package: bool = False,
               known: frozenset[str] = frozenset()) -> list[Import]:
    """Every import in ``source`` (module ``module``), with whether it runs at import time.

    ``from a import b`` counts as importing ``a.b`` when that is a module in ``known``."""
    tree = ast.parse(source, filename=file)
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []

    def add(node: ast.AST, name: str, top: bool) -> None:
        found.append(Import(file, node.lineno, name, top))

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            top = False
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, False)
            for child in node.orelse:
                visit(child, top)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(node, alias.name, top)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}" if base else alias.name
                add(node, sub if sub in known else base, top)
        elif isinstance(node, ast.Call) and _dynamic_import(node):
            add(node, node.args[0].value, top)
        for child in ast.iter_child_nodes(node):
            visit(child, top)

    visit(tree, True)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _dynamic_import(call: ast.Call) -> bool:
    f = call.func
    named = (isinstance(f, ast.Attribute) and f.attr == "import_module") or (
        isinstance(f, ast.Name) and f.id in ("import_module", "__import__"))
    return named and bool(call.args) and isinstance(call.args[0], ast.Constant) and isinstance(
        call.args[0].value, str)


def project_imports(root: Path = ROOT) -> list[Import]:
    files = sorted([*root.glob("repro/**/*.py"), *root.glob("runners/**/*.py")])
    known = frozenset(_module_name(p, root)[0] for p in files)
    out: list[Import] = []
    for path in files:
        module, is_package = _module_name(path, root)
        out += imports_of(path.read_text(encoding="utf-8"), path.relative_to(root).as_posix(),
                          module, is_package, known)
    return out


def violations(imports: list[Import]) -> dict[str, list[str]]:
    """Rule -> the imports that break it (``file:line: imports NAME (why)``)."""
    out: dict[str, list[str]] = {"planes": [], "runners": [], "contract": [], "ml": []}
    for imp in imports:
        if imp.file.startswith("repro/"):
            if _within(imp.name, "runners"):
                out["planes"].append(f"{imp} (repro never imports runners: run it as "
                                     "`python -m runners.<x>`, or move it into repro.contract)")
            if imp.file.startswith("repro/contract/") and _within(imp.name, "repro") and not \
                    _within(imp.name, "repro.contract"):
                out["contract"].append(f"{imp} (repro.contract imports nothing else from repro)")
            lib = imp.name.split(".")[0]
            if imp.module_level and lib in ML_LIBRARIES:
                out["ml"].append(f"{imp} at module level (the control plane imports {lib} "
                                 "inside the function that needs it)")
        elif imp.file.startswith("runners/") and _within(imp.name, "repro") and not any(
                _within(imp.name, p) for p in RUNNERS_MAY_IMPORT):
            out["runners"].append(f"{imp} (runners may import only "
                                  f"{' and '.join(RUNNERS_MAY_IMPORT)} from repro)")
    return out


_FOUND: dict[str, list[str]] = {}


def _found(rule: str) -> list[str]:
    if not _FOUND:
        _FOUND.update(violations(project_imports()))
    return _FOUND[rule]


def test_the_check_reads_every_module():
    imports = project_imports()
    files = {i.file for i in imports}
    assert "repro/cli.py" in files and "runners/train.py" in files
    assert any(i.name == "repro.contract.paths" for i in imports if i.file.startswith("runners/"))


def test_repro_never_imports_runners():
    bad = _found("planes")
    assert not bad, "the control plane imports the data plane:\n" + "\n".join(bad)


def test_runners_import_only_the_contract_and_the_spec_from_repro():
    bad = _found("runners")
    assert not bad, "a runner reaches past the contract:\n" + "\n".join(bad)


def test_the_contract_is_upstream_of_the_rest_of_repro():
    bad = _found("contract")
    assert not bad, "repro.contract depends on the rest of repro:\n" + "\n".join(bad)


def test_the_control_plane_imports_no_ml_library_at_module_level():
    bad = _found("ml")
    assert not bad, "heavy imports at module level in repro/:\n" + "\n".join(bad)


def test_the_check_sees_every_kind_of_import():
    """Imports in functions, relative ones, ``from pkg import module``, importlib literals."""
    source = '''
import json
from typing import TYPE_CHECKING
import torch
if TYPE_CHECKING:
    import transformers
from . import paths
from ..spec import schema
from repro import errors


def later():
    import peft
    from runners.export import export
    importlib.import_module("runners.plan")
    return __import__("trl")
'''
    known = frozenset({"repro.contract.paths", "repro.spec.schema", "repro.errors"})
    found = imports_of(source, "repro/contract/x.py", "repro.contract.x", known=known)
    got = {(i.name, i.line, i.module_level) for i in found}
    assert got >= {("torch", 4, True), ("transformers", 6, False), ("peft", 13, False),
                   ("repro.contract.paths", 7, True), ("repro.spec.schema", 8, True),
                   ("repro.errors", 9, True), ("runners.export", 14, False),
                   ("runners.plan", 15, False), ("trl", 16, False)}
    bad = violations(found)
    assert [b.split(" (")[0] for b in bad["planes"]] == [
        "repro/contract/x.py:14: imports runners.export", "repro/contract/x.py:15: imports runners.plan"]
    assert [b.split(":")[1] for b in bad["contract"]] == ["8", "9"]
    assert bad["ml"] == ["repro/contract/x.py:4: imports torch at module level (the control "
                         "plane imports torch inside the function that needs it)"]
    runner = imports_of("import repro\nfrom repro.spec import schema\nfrom repro.ui import err\n",
                        "runners/y.py", "runners.y", known=known)
    assert [b.split(" (")[0] for b in violations(runner)["runners"]] == [
        "runners/y.py:1: imports repro", "runners/y.py:3: imports repro.ui"]
