"""specc/dataclass_code.py: the methods @dataclass writes, compiled at setup.

The table must give exactly the code ``exec`` would have compiled, cover
every record ``specc check`` imports, and be ignored when it was made under
another interpreter or cannot be read."""

from __future__ import annotations

import builtins
import dataclasses
import marshal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from specc import dataclass_code

ROOT = Path(__file__).resolve().parent.parent


def _write_table(tmp_path: Path) -> str:
    """A table written as scripts/setup.sh writes it: in a fresh process."""
    target = str(tmp_path / "dataclass_code.marshal")
    subprocess.run([sys.executable, "-c",
                    f"from specc import dataclass_code; dataclass_code.write({target!r})"],
                   check=True, cwd=ROOT)
    return target


def test_every_method_in_the_table_is_what_exec_compiles(tmp_path: Path) -> None:
    groups = dataclass_code.read(_write_table(tmp_path))
    assert "specc.ast" in groups and "specc.span" in groups and None in groups
    count = 0
    for group in groups.values():
        for text, code in marshal.loads(group).items():
            assert code == dataclass_code.compile_source(text), text
            count += 1
    assert count > 200


def test_the_table_covers_every_record_a_check_imports(tmp_path: Path) -> None:
    target = _write_table(tmp_path)
    program = f"""
import specc.dataclass_code as d
d._groups.clear()
d._table.clear()
d._groups.update(d.read({target!r}))
compiled = []
compile_source = d.compile_source
def counted(text):
    compiled.append(text)
    return compile_source(text)
d.compile_source = counted
import specc.api, specc.cli_check
print(len(compiled), "specc.ast" in d._groups, "specc.backends.boot" in d._groups)
"""
    # The package already made its own records: only those after it count,
    # and `specc.api` imports the checker and every record it makes.
    out = subprocess.run([sys.executable, "-c", program], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    # Nothing compiled; the modules imported read their methods, the others not.
    assert out.stdout.split() == ["0", "False", "True"]


def _define(frozen: bool) -> type:
    if frozen:
        @dataclasses.dataclass(frozen=True, order=True)
        class Frozen:
            """A point."""

            x: int
            y: int = 2
            tags: tuple[str, ...] = ()

        return Frozen

    @dataclasses.dataclass(order=True)
    class Point:
        """A point."""

        x: int
        y: int = 2
        tags: tuple[str, ...] = ()

    return Point


@pytest.mark.parametrize("frozen", [False, True])
def test_a_dataclass_gets_the_same_methods_from_the_table(
        frozen: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as plain_exec:
        plain_exec.setitem(vars(dataclasses), "exec", builtins.exec)
        plain = _define(frozen)
    monkeypatch.setattr(dataclass_code, "_groups", {})
    monkeypatch.setattr(dataclass_code, "_table", {})
    monkeypatch.setattr(dataclass_code, "_recording", [])
    missed = _define(frozen)  # compiled by the hook: the table is empty
    assert dataclass_code._recording is not None
    texts = [text for _, text in dataclass_code._recording]
    assert texts
    monkeypatch.setattr(dataclass_code, "_recording", None)
    table = {text: dataclass_code.compile_source(text) for text in texts}
    monkeypatch.setattr(dataclass_code, "_table", table)
    cached = _define(frozen)
    for name in ("__init__", "__eq__", "__lt__", "__ge__", "__hash__", "__setattr__"):
        codes = [getattr(getattr(cls, name), "__code__", None) for cls in (plain, missed, cached)]
        # Code objects compare their flags too: no __future__ flag leaked in.
        assert codes[0] == codes[1] == codes[2], name
    assert cached(1) == cached(1, 2, ()) and cached(1) < cached(2)
    if frozen:
        with pytest.raises(dataclasses.FrozenInstanceError):
            cached(1).x = 3


def test_a_text_in_the_table_runs_the_table_s_code(monkeypatch: pytest.MonkeyPatch) -> None:
    # A code object that differs from the text shows which of the two ran.
    monkeypatch.setattr(dataclass_code, "_table", {})
    monkeypatch.setattr(dataclass_code, "_groups", {
        "m": marshal.dumps({"x = 1": dataclass_code.compile_source("x = 2")}),
        "n": b"never read",
    })
    namespace: dict[str, Any] = {"__name__": "m"}
    dataclass_code.cached_exec("x = 1", namespace)
    assert namespace["x"] == 2
    assert list(dataclass_code._groups) == ["n"]  # m's methods were read, once
    dataclass_code.cached_exec("y = 3", namespace, namespace)
    assert namespace["y"] == 3


def test_future_imports_do_not_leak_into_the_compiled_code() -> None:
    # This file has `from __future__ import annotations`; exec of the text
    # from dataclasses would not.
    code = dataclass_code.compile_source("def f(a: int) -> int:\n  return a\n")
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    assert namespace["f"].__annotations__ == {"a": int, "return": int}


def test_a_table_made_elsewhere_or_damaged_is_not_read(tmp_path: Path) -> None:
    target = tmp_path / "dataclass_code.marshal"
    assert dataclass_code.read(str(target)) == {}  # no file
    code = dataclass_code.compile_source("x = 1")
    stamp = dataclass_code._stamp()
    other = (stamp[0], b"\x00\x00\r\n", stamp[2])
    groups = {"m": marshal.dumps({"x = 1": code})}
    target.write_bytes(marshal.dumps((other, groups)))
    assert dataclass_code.read(str(target)) == {}
    target.write_bytes(marshal.dumps((stamp, groups))[:-3])
    assert dataclass_code.read(str(target)) == {}
    target.write_bytes(b"not marshal")
    assert dataclass_code.read(str(target)) == {}
    target.write_bytes(marshal.dumps((stamp, groups)))
    assert dataclass_code.read(str(target)) == groups


def test_every_record_a_check_imports_has_a_docstring_of_its_own() -> None:
    # Without one, dataclasses makes it from inspect.signature(cls) at every
    # import (specc/records.py); the check's records all say what they are.
    program = """
import dataclasses, sys
import specc.api, specc.cli_check
for name, module in sorted(sys.modules.items()):
    for value in list(vars(module).values()):
        if (isinstance(value, type) and dataclasses.is_dataclass(value)
                and value.__module__ == name and name.startswith("specc")
                and (value.__doc__ or "").startswith(value.__name__ + "(")):
            print(name, value.__qualname__)
"""
    out = subprocess.run([sys.executable, "-c", program], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    assert out.stdout == ""
