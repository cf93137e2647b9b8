"""specc.records.Record.__repr__ gives the text dataclasses would generate.

Each case declares the same fields twice, once with the generated
``__repr__`` and once with ``repr=False`` on a Record, and compares the
texts (the class names are the same: both classes are called ``Node``).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import InitVar, dataclass, field
from typing import Any, ClassVar

import pytest

from specc import ast, types
from specc.records import Record, assigned_at_run_time
from specc.span import SourceFile, Span


def _declare(on_record: bool, frozen: bool, slots: bool) -> type[Any]:
    # Decorated after the class statement, with the options as variables
    # (which mypy does not follow, hence Any).
    make_dataclass: Any = dataclass
    if on_record:
        class Node(Record):
            span: Span
            name: str
            hidden: int = field(default=0, repr=False)
            children: list[Any] = field(default_factory=list)
            shared: ClassVar[int] = 3
            seed: InitVar[int] = 0  # type: ignore[assignment]  # not a dataclass to mypy

        cls: type[Any] = make_dataclass(frozen=frozen, slots=slots, eq=False, repr=False)(Node)
    else:
        class Node:  # type: ignore[no-redef]
            span: Span
            name: str
            hidden: int = field(default=0, repr=False)
            children: list[Any] = field(default_factory=list)
            shared: ClassVar[int] = 3
            seed: InitVar[int] = 0  # type: ignore[assignment]  # not a dataclass to mypy

        cls = make_dataclass(frozen=frozen, slots=slots, eq=False)(Node)
    return cls


def _pair(frozen: bool = False, slots: bool = False) -> tuple[type[Any], type[Any]]:
    """The same class twice (the same qualified name too): with the generated
    ``__repr__``, and on a Record."""
    return _declare(False, frozen, slots), _declare(True, frozen, slots)


SPAN = Span("a.spec", 1, 2, 1, 5, 1, 4)


def test_the_same_text_as_the_generated_repr() -> None:
    for frozen in (False, True):
        for slots in (False, True):
            generated, shared = _pair(frozen, slots)
            a = generated(SPAN, "x", 7, [1, "two"], 5)
            b = shared(SPAN, "x", 7, [1, "two"], 5)
            assert repr(b) == repr(a)
            assert repr(b) == ("_declare.<locals>.Node(span=Span(file='a.spec', line=1, column=2, "
                                    "end_line=1, end_column=5, start=1, end=4), name='x', "
                                    "children=[1, 'two'])")


def test_a_cycle_is_shown_as_dots() -> None:
    generated, shared = _pair()
    a = generated(SPAN, "x")
    a.children.append(a)
    b = shared(SPAN, "x")
    b.children.append(b)
    assert repr(b) == repr(a)
    assert repr(b).endswith("children=[...])")


def test_a_subclass_shows_its_own_name_and_every_field() -> None:
    @dataclass(repr=False)
    class Base(Record):
        a: int

    @dataclass(repr=False)
    class Derived(Base):
        b: str

    class Plain(Derived):  # not a dataclass itself
        pass

    assert repr(Derived(1, "z")) == "test_a_subclass_shows_its_own_name_and_every_field.<locals>" \
        ".Derived(a=1, b='z')"
    assert repr(Plain(2, "y")).endswith(".Plain(a=2, b='y')")


def test_a_repr_in_progress_in_another_thread_is_not_a_cycle() -> None:
    _, shared = _pair()
    seen: list[str] = []

    class Probe:
        """While the main thread shows ``node``, another thread shows it too."""

        def __repr__(self) -> str:
            if threading.current_thread() is threading.main_thread():
                worker = threading.Thread(target=lambda: seen.append(repr(node)))
                worker.start()
                worker.join()
            return "probe"

    node = shared(SPAN, "x", 0, [Probe()])
    text = repr(node)
    assert text.endswith("children=[probe])")
    assert seen == [text]  # the other thread's repr, whole: not "..."


def test_the_compiler_records_keep_their_dataclass_form() -> None:
    # Passes rebuild nodes with dataclasses.replace and the LSP walks their fields.
    name = ast.Name(SPAN, "port")
    assert dataclasses.is_dataclass(name)
    assert [f.name for f in dataclasses.fields(name)] == ["span", "name"]
    assert repr(dataclasses.replace(name, name="p")) == (
        "Name(span=Span(file='a.spec', line=1, column=2, end_line=1, end_column=5, start=1, "
        "end=4), name='p')")
    assert not hasattr(name, "__dict__")  # still slotted: Record adds no instance dictionary
    assert repr(types.EnumT("Color", ("red",))) == "EnumT(name='Color', variants=('red',), span=None)"
    assert repr(SourceFile("a.spec", "x\n")) == "SourceFile(path='a.spec', text='x\\n')"


def test_a_span_keeps_the_value_semantics_of_a_frozen_dataclass() -> None:
    # specc.span gives Span a plain __init__ for speed; what callers rely on
    # must be what the frozen dataclass gave: value equality and hashing (the
    # language server and _dedupe key dicts by span), keyword construction and
    # dataclasses.replace, pickling (the data cache), and no instance dictionary.
    import pickle

    same = Span(file="a.spec", line=1, column=2, end_line=1, end_column=5, start=1, end=4)
    assert same == SPAN and hash(same) == hash(SPAN) and same is not SPAN
    assert Span("a.spec", 1, 2, 1, 5, 1, 5) != SPAN
    as_tuple: object = ("a.spec", 1, 2, 1, 5, 1, 4)
    assert as_tuple != SPAN  # not a tuple
    assert {SPAN: 1}[same] == 1
    moved = dataclasses.replace(SPAN, line=3, end_line=3)
    assert (moved.line, moved.end_line, moved.column, moved.end) == (3, 3, 2, 4)
    assert pickle.loads(pickle.dumps(SPAN)) == SPAN
    assert [f.name for f in dataclasses.fields(Span)] == [
        "file", "line", "column", "end_line", "end_column", "start", "end"]
    assert dataclasses.fields(Span)[0].type == "str"
    assert not hasattr(SPAN, "__dict__")
    assert repr(SPAN) == ("Span(file='a.spec', line=1, column=2, end_line=1, end_column=5, "
                          "start=1, end=4)")


def test_assigned_at_run_time_builds_what_the_frozen_init_built() -> None:
    make_dataclass: Any = dataclass  # options as variables: see _declare

    def declare(fast: bool) -> type[Any]:
        class Pair(Record):
            name: str
            count: int = 2
            doc: str | None = None

        cls: type[Any] = make_dataclass(frozen=True, repr=False)(Pair)
        return assigned_at_run_time(cls) if fast else cls

    plain, fast = declare(False), declare(True)
    cases: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        (("a",), {}), (("a", 3), {}), ((), {"name": "b", "doc": "d"}),
        (("c",), {"doc": None, "count": 0})]
    for args, kwargs in cases:
        want, got = plain(*args, **kwargs), fast(*args, **kwargs)
        assert repr(got) == repr(want)
        assert got == fast(*args, **kwargs) and hash(got) == hash(fast(*args, **kwargs))
    with pytest.raises(TypeError):
        fast()  # the required field is still required
    with pytest.raises(TypeError):
        fast("a", 1, None, 4)

    class Growing:
        items: list[int] = field(default_factory=list)

    with pytest.raises(TypeError, match="only plain defaults"):
        assigned_at_run_time(make_dataclass(frozen=True)(Growing))
    with pytest.raises(TypeError, match="not a frozen dataclass"):
        assigned_at_run_time(make_dataclass()(type("Loose", (), {"__annotations__": {"x": "int"}})))
