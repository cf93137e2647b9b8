"""Linking one Python file from run-time modules, specialized classes and the
lowered program, then dropping every top-level definition nothing reaches.

Run-time modules import each other relatively (`from .core import ck`).  The
linker pastes each module once, renames its top-level names so modules cannot
collide (core keeps its names: generated code calls them), and turns the
relative imports into references to the renamed definitions.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field

RUNTIME_DIR = os.path.join(os.path.dirname(__file__), "runtime")
CORE = "core"
# Modules whose names the generated code calls directly.
UNRENAMED = frozenset({CORE, "params"})


@dataclass
class LoadedModule:
    name: str
    header: list[str] = field(default_factory=list)  # stdlib imports, as source
    body: list[ast.stmt] = field(default_factory=list)  # renamed top-level statements
    impl: ast.ClassDef | None = None
    renames: dict[str, str] = field(default_factory=dict)


class Linker:
    def __init__(self) -> None:
        self.modules: dict[str, LoadedModule] = {}
        self.order: list[str] = []

    def module_path(self, name: str) -> str:
        return name if os.path.isabs(name) else os.path.join(RUNTIME_DIR, f"{name}.py")

    def load(self, name: str) -> LoadedModule:
        """Load a run-time module (by name) or a user's implementation (by path)."""
        if name in self.modules:
            return self.modules[name]
        with open(self.module_path(name), encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=self.module_path(name))
        short = re.sub(r"\W", "_", os.path.splitext(os.path.basename(name))[0])
        module = LoadedModule(name)
        self.modules[name] = module
        defined = defined_names(tree.body)
        if name not in UNRENAMED:
            module.renames = {n: (n if n.startswith(f"_{short}_") else f"_{short}_{n.lstrip('_')}")
                              for n in defined if n != "Impl"}
        for statement in tree.body:
            if isinstance(statement, ast.ImportFrom) and statement.level > 0:
                imported = self.load(statement.module or CORE)
                for alias in statement.names:
                    module.renames[alias.asname or alias.name] = \
                        imported.renames.get(alias.name, alias.name)
        for statement in tree.body:
            if _is_docstring(statement) or _is_future(statement):
                continue
            if isinstance(statement, ast.ImportFrom) and statement.level > 0:
                continue
            if isinstance(statement, ast.Import | ast.ImportFrom):
                module.header.append(ast.unparse(statement))
                continue
            renamed = _Rename(module.renames).visit(statement)
            if isinstance(renamed, ast.FunctionDef | ast.ClassDef):
                # Only top-level definitions are renamed: a method named like
                # an imported helper (`answer`) keeps its name.
                renamed.name = module.renames.get(renamed.name, renamed.name)
            if isinstance(renamed, ast.ClassDef) and statement.name == "Impl":  # type: ignore[attr-defined]
                module.impl = renamed
                continue
            module.body.append(renamed)
        self.order.append(name)
        return module

    def headers(self) -> list[str]:
        lines = {line for name in self.order for line in self.modules[name].header}
        return sorted(lines, key=lambda s: (not s.startswith("import "), s))

    def bodies(self) -> str:
        chunks = []
        for name in self.order:
            module = self.modules[name]
            if module.body:
                chunks.append(f"# ---- runtime: {os.path.basename(name)}\n")
                chunks.append("\n\n".join(ast.unparse(s) for s in module.body) + "\n")
        return "\n\n".join(chunks)


class _Rename(ast.NodeTransformer):
    def __init__(self, renames: dict[str, str]) -> None:
        self.renames = renames

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id in self.renames:
            node.id = self.renames[node.id]
        return node



def defined_names(body: list[ast.stmt]) -> set[str]:
    """The names a module's or a class's body defines: functions, classes and
    plain or annotated assignments to a name."""
    names: set[str] = set()
    for statement in body:
        if isinstance(statement, ast.FunctionDef | ast.ClassDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            names.add(statement.target.id)
    return names


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
        and isinstance(statement.value.value, str)


def _is_future(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.ImportFrom) and statement.module == "__future__"


def prune(text: str) -> str:
    """Drop top-level definitions and imports that nothing reachable uses.

    Roots are the statements that are not definitions (the `__main__` block).
    Works on line ranges, so the text kept is byte-for-byte what was there.
    """
    tree = ast.parse(text)
    definitions: dict[str, list[ast.stmt]] = {}
    roots: list[ast.stmt] = []
    for statement in tree.body:
        names = _defined(statement)
        if names:
            for name in names:
                definitions.setdefault(name, []).append(statement)
        elif not isinstance(statement, ast.Import | ast.ImportFrom) and not _is_docstring(statement) \
                and not _is_future(statement):
            roots.append(statement)
    kept: set[int] = set()
    queue = list(roots)
    seen_names: set[str] = set()
    while queue:
        node = queue.pop()
        for inner in ast.walk(node):
            found = inner.id if isinstance(inner, ast.Name) else None
            if found is not None and found in definitions and found not in seen_names:
                seen_names.add(found)
                for definition in definitions[found]:
                    if id(definition) not in kept:
                        kept.add(id(definition))
                        queue.append(definition)
    used = seen_names | {n.id for r in roots for n in ast.walk(r) if isinstance(n, ast.Name)}
    for statement in tree.body:
        if id(statement) in kept:
            used.update(n.id for n in ast.walk(statement) if isinstance(n, ast.Name))
            used.update(n.value.id for n in ast.walk(statement)
                        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name))
    lines = text.split("\n")
    drop: set[int] = set()
    for statement in tree.body:
        names = _defined(statement)
        removable = (names and id(statement) not in kept) or \
            (isinstance(statement, ast.Import | ast.ImportFrom) and not _is_future(statement)
             and not _import_used(statement, used))
        if removable:
            end = statement.end_lineno or statement.lineno
            start = statement.lineno
            if isinstance(statement, ast.FunctionDef | ast.ClassDef) and statement.decorator_list:
                start = statement.decorator_list[0].lineno
            drop.update(range(start - 1, end))
    kept_lines = [line for i, line in enumerate(lines) if i not in drop]
    text = "\n".join(kept_lines)
    # A run-time module none of whose definitions is used leaves no heading.
    text = re.sub(r"^# ---- runtime: [^\n]*\n\s*(?=^# ---- |\Z)", "", text, flags=re.M)
    return re.sub(r"\n{3,}", "\n\n\n", text)


def _defined(statement: ast.stmt) -> list[str]:
    if isinstance(statement, ast.FunctionDef | ast.ClassDef):
        return [statement.name]
    if isinstance(statement, ast.Assign):
        return [t.id for t in statement.targets if isinstance(t, ast.Name)]
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return [statement.target.id]
    return []


def _import_used(statement: ast.Import | ast.ImportFrom, used: set[str]) -> bool:
    if isinstance(statement, ast.Import):
        return any((a.asname or a.name).split(".")[0] in used for a in statement.names)
    return any((a.asname or a.name) in used for a in statement.names)
