"""backends/python/plain_literal.py: a constant the Python target writes
without parsing must be exactly the text that parsing and `ast.unparse`
would have written, and anything that might not be stays parsed."""

from __future__ import annotations

import ast
import enum

import dns.zone
import pytest

from specc.backends import BackendError
from specc.backends.dns.precompute import build_table
from specc.backends.dns.record_table import build_records, records_to_python
from specc.backends.python.emit import _PythonImage
from specc.backends.python.plain_literal import MAX_DEPTH, PlainLiteral, plain_literal
from specc.backends.python.specialize import PLACEHOLDER_PREFIX, specialize_class

PLAIN = [
    {}, [], (), (1,), ((),), [()], {(): ()},
    {"format": 1, "apex": b"\x07example\x00", "nodes": {b"\x00": ({1: 4}, -1, {}, 0)}},
    [(-1, 0, -0x8000_0000, 2**70, True, False, None)],
    {(1, (2, 3)): [b"", b"'\"\\\x00\xff", (None,)]},
    {-1: {-2: [-3]}},
    ("a b/c.css", "text/html; charset=utf-8", ""),
]


def unparsed(text: str) -> str:
    return ast.unparse(ast.parse(text, mode="eval").body)


@pytest.mark.parametrize("value", PLAIN, ids=repr)
def test_a_plain_literal_is_what_unparsing_writes(value: object) -> None:
    text = plain_literal(value)
    assert isinstance(text, PlainLiteral)
    assert text == repr(value) == unparsed(text)
    # In an assignment, where the specializer puts it, too.
    assert ast.unparse(ast.parse(f"X: Final = {text}")) == f"X: Final = {text}"


class Level(enum.IntEnum):
    INFO = 1


def nested(depth: int) -> object:
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("value", [
    1, b"x", "s", None,  # scalars: the specializer folds them, so they are parsed
    [1.5], {1, 2}, [frozenset()], [Level.INFO], ["it's"], ['"'], ["\\"], ["\n"], ["é"],
    [{"k": [{2: 1j}]}], nested(MAX_DEPTH + 1),
], ids=repr)
def test_anything_else_stays_source_to_parse(value: object) -> None:
    text = plain_literal(value)
    assert text == repr(value)
    assert not isinstance(text, PlainLiteral)


def test_nesting_up_to_the_limit_is_plain() -> None:
    assert isinstance(plain_literal(nested(MAX_DEPTH)), PlainLiteral)


@pytest.mark.parametrize("zone_file", ["examples/zones/example.org.zone"])
def test_the_dns_tables_are_plain(zone_file: str) -> None:
    zone = dns.zone.from_file(zone_file, origin=None, relativize=False)
    for value in (build_table(zone), records_to_python(build_records(zone))):
        text = plain_literal(value)
        assert isinstance(text, PlainLiteral)
        assert text == unparsed(text)


IMPL = ast.parse("class Impl:\n    TABLE: Final = None\n    N: Final = 0\n"
                 "    def get(self):\n        return self.TABLE[self.N]\n").body[0]


def test_the_specializer_leaves_a_placeholder_for_a_plain_literal() -> None:
    assert isinstance(IMPL, ast.ClassDef)
    spliced: dict[str, str] = {}
    constants = {"TABLE": plain_literal({1: (b"a",)}), "N": "1"}
    cls = specialize_class(IMPL, "C", constants, {"get"}, spliced)
    placeholder = f"{PLACEHOLDER_PREFIX}0__"
    assert spliced == {placeholder: "{1: (b'a',)}"}
    text = ast.unparse(cls)
    assert f"TABLE: Final = {placeholder}" in text and "self.TABLE[1]" in text
    # Without a place to put it, the literal is parsed as any other source.
    parsed = ast.unparse(specialize_class(IMPL, "C", constants, {"get"}))
    assert parsed == text.replace(placeholder, spliced[placeholder])


def test_a_placeholder_used_twice_is_refused() -> None:
    image = _PythonImage.__new__(_PythonImage)
    image.spliced = {f"{PLACEHOLDER_PREFIX}0__": "{}"}
    assert image.splice(f"x = {PLACEHOLDER_PREFIX}0__\n") == "x = {}\n"
    with pytest.raises(BackendError, match="specc's own"):
        image.splice(f"x = {PLACEHOLDER_PREFIX}0__\ny = {PLACEHOLDER_PREFIX}0__\n")
