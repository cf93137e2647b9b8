"""Property: the compile-time evaluator computes integer constants exactly as
a plain-Python reference with explicit overflow checks does, traps included.

Random well-typed constant expressions over ``u8 u16 u32 u64 i64`` with
``+ - * / % & | ^ << >>``, unary ``-`` (``i64`` only), comparisons and
``as`` casts are written as specc source and compiled: as ``const`` keys
(the config pass, ``stop_after="config"``) and as ``let``s in ``main`` (the
fold pass, ``stop_after="fold"``).  Each value must equal the reference's;
each expression the reference says traps must get exactly one E0304 whose
position is the start of the operation that traps.

The reference (``reference`` below) has the semantics the images have
(LANGUAGE.md section 4): every result must fit its type, else trap;
division and remainder truncate toward zero (C), and divide by zero traps;
a shift amount must be ``0 .. width-1``; ``<<`` whose result does not fit
traps; ``>>`` of a negative ``i64`` is arithmetic; ``& | ^`` on ``i64`` are
two's complement (Python's); a narrowing ``as`` that does not fit traps.
``i64::MIN % -1`` is 0 (the exact result fits; only ``i64::MIN / -1`` traps).

Integer literals take their type from the context (LANGUAGE.md section 4),
so the generator writes a bare literal only where the checker's rules give
it the intended type (``expected`` below mirrors ``ExprChecker.operands`` and
``ExprChecker.cast``) and ``(N as T)`` elsewhere.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis.control import currently_in_test_context

from specc import ast
from specc.driver import CompileOptions, compile_file

INT_TYPES = ("u8", "u16", "u32", "u64", "i64")
RANGES = {"u8": (0, 2**8 - 1), "u16": (0, 2**16 - 1), "u32": (0, 2**32 - 1),
          "u64": (0, 2**64 - 1), "i64": (-(2**63), 2**63 - 1)}
WIDTHS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "i64": 64}
ARITHMETIC = ("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
MAX_DEPTH = 4


# --- expressions --------------------------------------------------------------------


@dataclass(frozen=True)
class Lit:
    type: str
    value: int
    bare: bool  # written without `as` (the context gives it its type)


@dataclass(frozen=True)
class Neg:
    type: str  # always i64
    operand: Expr


@dataclass(frozen=True)
class Bin:
    type: str  # both operands have it too
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Cast:
    type: str
    operand: Expr  # of any integer type


@dataclass(frozen=True)
class Cmp:
    op: str
    left: Expr
    right: Expr

    @property
    def type(self) -> str:
        return "bool"


Expr = Lit | Neg | Bin | Cast
Top = Expr | Cmp


# --- the reference evaluator -------------------------------------------------------


class Trap(Exception):
    def __init__(self, node: Top, kind: str) -> None:
        super().__init__(kind)
        self.node = node
        self.kind = kind  # "overflow", "division by zero", "shift", "does not fit"


def fits(value: int, t: str) -> bool:
    low, high = RANGES[t]
    return low <= value <= high


def checked(node: Top, value: int, t: str, kind: str = "overflow") -> int:
    if not fits(value, t):
        raise Trap(node, kind)
    return value


def truncating_division(a: int, b: int) -> int:
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def reference(node: Top) -> int | bool:
    """The value of ``node``, or :class:`Trap` at the operation that traps.
    Operands are evaluated left to right, so the leftmost trap wins."""
    if isinstance(node, Lit):
        assert fits(node.value, node.type)
        return node.value
    if isinstance(node, Neg):
        operand = reference(node.operand)
        assert isinstance(operand, int)
        return checked(node, -operand, "i64")
    if isinstance(node, Cast):
        operand = reference(node.operand)
        assert isinstance(operand, int)
        return checked(node, operand, node.type, "does not fit")
    a, b = reference(node.left), reference(node.right)
    assert isinstance(a, int) and isinstance(b, int)
    if isinstance(node, Cmp):
        compare: dict[str, Callable[[int, int], bool]] = {
            "==": lambda x, y: x == y, "!=": lambda x, y: x != y, "<": lambda x, y: x < y,
            "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}
        return compare[node.op](a, b)
    t, op = node.type, node.op
    if op == "+":
        return checked(node, a + b, t)
    if op == "-":
        return checked(node, a - b, t)
    if op == "*":
        return checked(node, a * b, t)
    if op in ("/", "%"):
        if b == 0:
            raise Trap(node, "division by zero")
        quotient = truncating_division(a, b)
        return checked(node, quotient, t) if op == "/" else a - quotient * b
    if op == "&":
        return a & b
    if op == "|":
        return a | b
    if op == "^":
        return a ^ b
    if not 0 <= b < WIDTHS[t]:
        raise Trap(node, "shift")
    return checked(node, a << b, t) if op == "<<" else a >> b


# --- source text, with the column where each operation starts ----------------------


class Writer:
    """Writes an expression and records where each node's span starts (the
    parser's spans leave out parentheses: a binary operation starts where its
    left operand does)."""

    def __init__(self) -> None:
        self.text = ""
        self.starts: dict[int, int] = {}  # id(node) -> 0-based offset

    def write(self, node: Top) -> int:
        """Appends ``node``; returns the offset where its span starts."""
        if isinstance(node, Lit):
            if node.value < 0:
                # `(-N)` bare, or `((-N) as i64)` (-2**63 is a literal only with its
                # sign); either way the span starts at the `-`.
                self.text += "(" if node.bare else "(("
                start = len(self.text)
                self.text += f"-{-node.value})" + ("" if node.bare else " as i64)")
            elif node.bare:
                start = len(self.text)
                self.text += str(node.value)
            else:
                self.text += "("
                start = len(self.text)
                self.text += f"{node.value} as {node.type})"
        elif isinstance(node, Neg):
            self.text += "("
            start = len(self.text)
            self.text += "-"
            self.write(node.operand)
            self.text += ")"
        elif isinstance(node, Cast):
            # Every operand is a bare number or written in parentheses.
            self.text += "("
            start = self.write(node.operand)
            self.text += f" as {node.type})"
        else:
            self.text += "("
            start = self.write(node.left)
            self.text += f" {node.op} "
            self.write(node.right)
            self.text += ")"
        self.starts[id(node)] = start
        return start


# --- generating well-typed expressions ------------------------------------------------


def literal_values(t: str) -> st.SearchStrategy[int]:
    low, high = RANGES[t]
    edges = sorted({v for v in (low, low + 1, -1, 0, 1, 2, 3, 7, 8, high // 2, high - 1, high)
                    if low <= v <= high})
    return st.one_of(st.sampled_from(edges), st.integers(low, high),
                     st.integers(max(low, -300), min(high, 300)))


@st.composite
def expressions(draw: st.DrawFn, t: str, expected: str | None, depth: int = 0) -> Expr:
    """An expression of type ``t`` where the context expects ``expected``
    (None: no type from the context)."""
    kinds = ["literal"] if depth >= MAX_DEPTH else \
        ["literal", "binary", "binary", "binary", "cast"] + (["negate"] if t == "i64" else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "literal":
        # A bare literal takes the type the context expects: only right when it is `t`.
        bare = expected == t and draw(st.booleans())
        return Lit(t, draw(literal_values(t)), bare)
    if kind == "negate":
        operand = draw(expressions(t, expected, depth + 1))
        if isinstance(operand, Lit) and operand.bare and operand.value == RANGES[t][0]:
            # The checker reads `-(-9223372036854775808)` as one literal, which does not
            # fit (E0202): negate a typed operand instead.  (Longer chains of `-` on a
            # bare literal cannot reach 2**63.)
            operand = Lit(t, operand.value, False)
        return Neg(t, operand)
    if kind == "cast":
        source = draw(st.sampled_from(INT_TYPES))
        # `e as T` checks `e` expecting `T` (ExprChecker.cast).
        return Cast(t, draw(expressions(source, t, depth + 1)))
    op = draw(st.sampled_from(ARITHMETIC))
    # The left operand gets the context's type, the right one the left's
    # (ExprChecker.operands); a left side that is typed makes that `t`.
    left = draw(expressions(t, expected, depth + 1))
    if op in ("<<", ">>") and draw(st.booleans()):
        right: Expr = Lit(t, draw(st.integers(0, WIDTHS[t] + 1)), True)  # mostly in range
    else:
        right = draw(expressions(t, t, depth + 1))
    return Bin(t, op, left, right)


@st.composite
def tops(draw: st.DrawFn) -> Top:
    t = draw(st.sampled_from(INT_TYPES))
    if draw(st.integers(0, 4)) == 0:
        # Comparisons give no type to their operands (ExprChecker.binary).
        return Cmp(draw(st.sampled_from(COMPARISONS)), draw(expressions(t, None, 1)),
                   draw(expressions(t, t, 1)))
    return draw(expressions(t, t))


# --- running the compiler ---------------------------------------------------------------


@dataclass
class Line:
    name: str
    node: Top
    line: int  # 1-based line of the declaration
    prefix: str  # the text before the expression on that line
    writer: Writer

    @property
    def expected(self) -> int | bool | Trap:
        try:
            return reference(self.node)
        except Trap as trap:
            return trap

    def trap_column(self, trap: Trap) -> int:
        return len(self.prefix) + self.writer.starts[id(trap.node)] + 1


def build(nodes: list[Top], where: str) -> tuple[str, list[Line]]:
    """A spec with one `const` key (where="config") or one `let` in main
    (where="main") per expression."""
    head = ["unikernel property", "config {"] if where == "config" else \
        ["unikernel property", "main {"]
    lines: list[Line] = []
    body = list(head)
    for index, node in enumerate(nodes):
        writer = Writer()
        writer.write(node)
        name = f"k{index}"
        prefix = f"  const {name}: {node.type} = " if where == "config" else \
            f"  let {name}: {node.type} = "
        lines.append(Line(name, node, len(body) + 1, prefix, writer))
        body.append(prefix + writer.text)
    if where == "config":
        body += ["}", "main {}"]
    else:
        used = " ".join("{" + line.name + "}" for line in lines)
        body += [f'  print("{used}")', "}"]
    return "\n".join(body) + "\n", lines


def folded_lets(block: ast.Block | None) -> dict[str, object]:
    """Values of the `let`s of folded `main` that are constants now."""
    values: dict[str, object] = {}
    for statement in block.stmts if block is not None else ():
        if isinstance(statement, ast.Let) and isinstance(statement.value, ast.Const):
            values[statement.name] = statement.value.value
    return values


def note_event(name: str) -> None:
    """For --hypothesis-show-statistics: how often values and each trap are seen."""
    if currently_in_test_context():
        event(name)


def check(nodes: list[Top], where: str, directory: Path) -> None:
    source, lines = build(nodes, where)
    path = directory / f"{where}.spec"
    path.write_text(source, encoding="utf-8")
    result = compile_file(str(path), CompileOptions(stop_after=where if where == "config"
                                                     else "fold"))
    listing = "\n".join(f"{n:3} {text}" for n, text in enumerate(source.split("\n"), 1))
    context = f"\n{listing}\ndiagnostics:\n" + "\n".join(
        f"  {d.span.line}:{d.span.column}: {d.code}: {d.message}" for d in result.diagnostics)
    unexpected = [d for d in result.diagnostics if d.code != "E0304"]
    assert not unexpected, "the generator wrote something the front end rejects" + context
    traps = {(d.span.line, d.span.column): d.message for d in result.diagnostics}
    assert len(traps) == len(result.diagnostics), "two traps at one position" + context
    if where == "config":
        assert result.config is not None, context
        values: dict[str, object] = dict(result.config.values)
    else:
        assert result.folded is not None, context
        values = folded_lets(result.folded.main)
    for line in lines:
        expected = line.expected
        if isinstance(expected, Trap):
            position = (line.line, line.trap_column(expected))
            assert position in traps, f"{line.name}: expected a trap ({expected.kind}) at " \
                f"{position[0]}:{position[1]}" + context
            note_event(f"{where}: trap ({expected.kind})")
            message = traps.pop(position)
            assert expected.kind in message, f"{line.name}: {message!r}" + context
            assert line.name not in values, context
        else:
            note_event(f"{where}: value")
            assert values.get(line.name, "<missing>") == expected, \
                f"{line.name}: expected {expected!r}, got {values.get(line.name)!r}" + context
            assert type(values[line.name]) is type(expected), context
    assert not traps, f"traps the reference does not expect: {traps}" + context


# --- the properties -----------------------------------------------------------------------

SETTINGS = settings(max_examples=250, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BATCH = st.lists(tops(), min_size=1, max_size=6)

I64_MIN = -(2**63)
# Hand-picked cases at the edges, always run first.
EDGES: list[Top] = [
    Bin("i64", "/", Lit("i64", I64_MIN, True), Lit("i64", -1, True)),  # traps
    Bin("i64", "%", Lit("i64", I64_MIN, True), Lit("i64", -1, True)),  # 0
    Bin("i64", ">>", Lit("i64", -7, True), Lit("i64", 1, True)),  # -4 (arithmetic)
    Bin("i64", "/", Lit("i64", -7, True), Lit("i64", 2, True)),  # -3 (toward zero)
    Bin("i64", "%", Lit("i64", -7, True), Lit("i64", 2, True)),  # -1
    Bin("i64", "<<", Lit("i64", -1, True), Lit("i64", 63, True)),  # i64::MIN, fits
    Bin("i64", "<<", Lit("i64", 1, True), Lit("i64", 63, True)),  # traps
    Bin("u8", "<<", Lit("u8", 1, False), Lit("u8", 8, True)),  # shift out of range
    Bin("u8", "<<", Lit("u8", 128, False), Lit("u8", 1, True)),  # overflow
    Bin("u64", "-", Lit("u64", 0, True), Lit("u64", 1, True)),  # traps
    Bin("i64", "^", Lit("i64", -1, True), Lit("i64", 5, True)),  # -6
    Neg("i64", Lit("i64", I64_MIN, False)),  # traps
    Cast("u8", Bin("u16", "+", Lit("u16", 200, False), Lit("u16", 100, False))),  # traps
    Cast("u32", Lit("i64", -1, False)),  # traps
    Cast("i64", Lit("u64", 2**64 - 1, False)),  # traps
    Cmp("<", Lit("u8", 3, False), Lit("u8", 4, True)),
]


def test_reference_semantics() -> None:
    """The reference itself, on the edges above."""
    results: list[object] = []
    for node in EDGES:
        try:
            results.append(reference(node))
        except Trap as trap:
            results.append(trap.kind)
    assert results == ["overflow", 0, -4, -3, -1, I64_MIN, "overflow", "shift", "overflow",
                       "overflow", -6, "overflow", "does not fit", "does not fit",
                       "does not fit", True]


def test_writer_positions() -> None:
    node = Bin("u8", "+", Lit("u8", 200, False), Cast("u8", Lit("u16", 300, False)))
    writer = Writer()
    writer.write(node)
    assert writer.text == "((200 as u8) + ((300 as u16) as u8))"
    assert writer.starts[id(node)] == 2  # `200`, inside both parentheses
    assert writer.starts[id(node.right)] == 17  # the cast starts at `300`
    negative = Lit("i64", -5, False)
    writer = Writer()
    writer.write(negative)
    assert writer.text == "((-5) as i64)"
    assert writer.starts[id(negative)] == 2


def test_edges_in_config_and_main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        check(EDGES, "config", Path(directory))
        check(EDGES, "main", Path(directory))


@SETTINGS
@given(BATCH)
@example([Bin("u16", "+", Lit("u16", 65535, True), Lit("u16", 1, True))])
def test_config_pass_agrees_with_the_reference(nodes: list[Top]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        check(nodes, "config", Path(directory))


@SETTINGS
@given(BATCH)
@example([Bin("u16", "*", Lit("u16", 256, False), Lit("u16", 256, True))])
def test_fold_pass_agrees_with_the_reference(nodes: list[Top]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        check(nodes, "main", Path(directory))
