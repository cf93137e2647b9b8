"""A hypothesis strategy of random well-typed specc programs, for the
differential test (tests/program_batches.py).

A program is a few top-level `var`s, a few functions (some recursive, some
that print or assign the `var`s) and an entry function `@run()` whose body
is random statements: `let`, `var` and assignments, `print`, `if`, `if let`,
`match`, `for` over ranges, lists and bytes, `while`, `break`, `continue`,
`return` and `exit`.  Expressions cover checked integer arithmetic on every
integer type (so that overflow, division by zero, bad shifts, bad indexes
and slices and narrowing `as` trap at run time), strings, bytes, the enum
`Color`, the struct `Rec`, lists, options, `Duration`, interpolation,
`match` and `if` expressions, and the builtins `len`, `min`, `max`, `utf8`.

Every `@` in the text stands for the program's own prefix, so many programs
can share one spec (tests/program_batches.py puts `p7_` there for program 7).
Values come from the `param` keys `config.a` (u64), `config.b` (i64),
`config.c` (u8) and `config.w` (string) as often as from literals, so that
most traps happen at run time rather than when the compiler folds a
constant (a program whose constant part traps at compile time is E0304 and
is left out by the runner).

Runs are kept small and finite by construction: loops run at most four
rounds and nest at most twice, a recursive function's first parameter is
a depth below six that each call lowers by one, a function calls only the
functions generated before it, and strings never double in a loop.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import hypothesis.strategies as st
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as with_seed

INTS = ("u8", "u16", "u32", "u64", "i64")
RANGES = {"u8": (0, 2**8 - 1), "u16": (0, 2**16 - 1), "u32": (0, 2**32 - 1),
          "u64": (0, 2**64 - 1), "i64": (-(2**63), 2**63 - 1)}
WIDTHS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "i64": 64}
LISTS = {"[u8]": "u8", "[u64]": "u64", "[string]": "string", "[Rec]": "Rec",
         "[u8?]": "u8?", "[[u8]]": "[u8]"}
OPTIONS = {"u8?": "u8", "string?": "string", "Ipv4?": "Ipv4"}
TYPES = (*INTS, "bool", "string", "bytes", "Color", "Duration", "Size", "Ipv4", "Cidr", "Rec",
         *LISTS, *OPTIONS)
ORDERED = (*INTS, "string", "bytes", "Color", "Duration", "Size")
COLORS = ("red", "green", "blue")
REC_FIELDS = {"n": "u16", "c": "Color", "s": "string", "o": "u8?", "xs": "[u8]"}
# The declarations every program may use, once per spec.
DECLARATIONS = """enum Color { red, green, blue }

struct Rec { n: u16, c: Color, s: string, o: u8?, xs: [u8] }
"""
# The run-time inputs: `param` keys whose values the runner chooses.
PARAMS = {"a": "u64", "b": "i64", "c": "u8", "w": "string"}
GLOBAL_TYPES = ("u64", "i64", "u8", "string", "[u8]", "u8?", "Rec", "Duration")
# Text a generated string may hold: no quote, brace, backslash, `@` or `=`
# (a line starting with `==` separates programs in the output).
LETTERS = "abcxyz019 -\u00e9"
DURATIONS = ("0s", "1ns", "999ns", "1us", "1500us", "250ms", "1s", "90s", "2m", "1h",
             "4489020714ns", "9223372036854775807ns")
MAX_LOOP_NESTING = 2
MAX_LOOP_ROUNDS = 4
MAX_SELF_CALLS = 2
MAX_DEPTH_ARGUMENT = 5
# At most this many function bodies run per program (an estimate from the
# call sites, their loops and the recursion), so that output stays short.
MAX_CALLS = 200
# Values that can grow when a variable is assigned from another one.
GROWABLE = ("string", "bytes", "Rec", *LISTS, "string?")
SIZES = ("0B", "1B", "512B", "64KiB", "1MiB", "3GiB", "1023B", "9223372036854775807B")
ADDRESSES = ("10.0.0.1", "0.0.0.0", "255.255.255.255", "192.168.1.20")
NETWORKS = ("10.0.0.0/8", "192.168.1.0/24", "0.0.0.0/0", "10.0.0.1/32")
# Patterns that literals of these types give (matched with `==`).
PATTERNS = {"string": ('""', '"a"', '"abc"'), "bytes": ('b""', 'b"\\x01"'),
            "Duration": ("0s", "1s", "250ms"), "Size": ("0B", "512B"),
            "Ipv4": ADDRESSES, "Cidr": NETWORKS}

T = TypeVar("T")


@dataclass(frozen=True)
class Local:
    name: str
    type: str
    mutable: bool = False


@dataclass
class Function:
    name: str
    params: tuple[tuple[str, str], ...]
    result: str | None
    recursive: bool  # the first parameter is the depth `d: u64`
    calls: int = 1  # how many bodies one call of it runs, at most (itself included)


@dataclass(frozen=True)
class Program:
    """One generated program: its top-level declarations and the entry
    function `@run`, with `@` where its prefix goes."""

    text: str

    def render(self, prefix: str) -> str:
        return self.text.replace("@", prefix)


@dataclass
class Scope:
    locals: list[Local]
    loops: int = 0  # how many loops enclose this code
    result: str | None = None  # the result type of the enclosing function
    in_function: bool = False  # a helper function rather than `@run`
    recursive: Function | None = None  # may call itself with `d - 1`
    constant: bool = False  # a `var`'s initial value: no `config.X`

    def child(self, **changes: object) -> Scope:
        changes.setdefault("locals", list(self.locals))
        return replace(self, **changes)  # type: ignore[arg-type]

    def of_type(self, t: str) -> list[Local]:
        return [v for v in self.locals if v.type == t]


@dataclass
class Writer:
    draw: st.DrawFn
    functions: list[Function] = field(default_factory=list)
    globals: list[Local] = field(default_factory=list)
    names: int = 0
    budget: int = 90  # expression nodes left for this program
    self_calls: int = 0
    calls: int = 0  # function bodies the code written so far may run

    # ---------------------------------------------------------------- choices
    def pick(self, options: Sequence[T]) -> T:
        return self.draw(st.sampled_from(options))

    def chance(self, percent: int) -> bool:
        return self.draw(st.integers(0, 99)) < percent

    def number(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def fresh(self, stem: str) -> str:
        self.names += 1
        return f"{stem}{self.names}"

    # ---------------------------------------------------------------- literals
    def int_literal(self, t: str) -> str:
        low, high = RANGES[t]
        edges = sorted({v for v in (low, low + 1, -1, 0, 1, 2, 3, 7, 8, 100, 255, 256,
                                    high // 2, high - 1, high) if low <= v <= high})
        value = self.draw(st.one_of(st.sampled_from(edges), st.integers(0, 20),
                                    st.integers(low, high)))
        # Always `(... as T)`: a bare literal takes its type from where it
        # is, and `(-5) as u16` would make -5 a `u16` literal (E0202).
        if value == low and t == "i64":
            return "((-9223372036854775807 - 1) as i64)"
        if value < 0:
            return f"((-{-value}) as i64)"
        return f"({value} as {t})"

    def literal(self, t: str, scope: Scope, depth: int, typed: bool) -> str:
        if t in INTS:
            return self.int_literal(t)
        if t == "bool":
            return self.pick(("true", "false"))
        if t == "string":
            text = self.draw(st.text(alphabet=LETTERS, max_size=5))
            return f'"{text}"'
        if t == "bytes":
            data = self.draw(st.binary(max_size=4))
            return 'b"' + "".join(f"\\x{b:02x}" for b in data) + '"'
        if t == "Color":
            return f"Color.{self.pick(COLORS)}"
        if t == "Duration":
            return self.pick(DURATIONS)
        if t == "Size":
            return self.pick(SIZES)
        if t == "Ipv4":
            return self.pick(ADDRESSES)
        if t == "Cidr":
            return self.pick(NETWORKS)
        if t == "Rec":
            names = list(REC_FIELDS)
            order = self.draw(st.permutations(names))
            fields = ", ".join(f"{n}: {self.expr(REC_FIELDS[n], scope, depth - 1, typed=True)}"
                               for n in order)
            # In parentheses: `match Rec { ... }` and `if Rec { ... }.s == ""`
            # would read the brace as the start of a block (docs/language.md 2.4).
            return f"(Rec {{ {fields} }})"
        if t in LISTS:
            count = self.number(0 if typed else 1, 3)
            items = [self.expr(LISTS[t], scope, depth - 1) for _ in range(count)]
            return "[" + ", ".join(items) + "]"
        if t in OPTIONS:
            if typed and self.chance(40):
                return "none"
            inner = self.expr(OPTIONS[t], scope, depth - 1)
            return inner if typed and self.chance(50) else f"some({inner})"
        raise AssertionError(t)

    # ---------------------------------------------------------------- expressions
    def expr(self, t: str, scope: Scope, depth: int, typed: bool = False) -> str:
        """An expression of type ``t``; ``typed``: the context gives the type
        (a typed `let`, a struct field, an argument), so `none` and `[]` are
        allowed."""
        self.budget -= 1
        if depth <= 0 or self.budget <= 0 or self.chance(25):
            return self.leaf(t, scope, typed)
        forms = self.forms(t, scope)
        form = self.pick(forms)
        return form(scope, depth - 1)

    def leaf(self, t: str, scope: Scope, typed: bool) -> str:
        sources: list[str] = [v.name for v in scope.of_type(t)]
        if scope.constant:
            return self.literal(t, scope, 1, typed)
        if t == "u64":
            sources.append("config.a")
        if t == "i64":
            sources.append("config.b")
        if t == "u8":
            sources.append("config.c")
        if t == "string":
            sources.append("config.w")
        if t in INTS:
            # Traps when the value does not fit.
            sources += [f"(config.{k} as {t})" for k in ("a", "b") if PARAMS[k] != t]
        params = [name for name in sources if name.startswith("(config.") or
                  name.startswith("config.")]
        names = [name for name in sources if name not in params]
        choice = self.number(0, 9)
        if names and choice < 4:
            return self.pick(names)
        if params and choice < 6:
            return self.pick(params)
        return self.literal(t, scope, 1, typed)

    def forms(self, t: str, scope: Scope) -> list[Callable[[Scope, int], str]]:
        forms: list[Callable[[Scope, int], str]] = [
            lambda s, d: self.literal(t, s, d, False),
            lambda s, d: f"(if {self.expr('bool', s, d)} then {self.expr(t, s, d)} "
                         f"else {self.expr(t, s, d)})",
            lambda s, d: self.match_expr(t, s, d),
        ]
        callees = [f for f in self.callable(scope) if f.result == t]
        if callees:
            forms.append(lambda s, d: self.call(self.pick(callees), s, d))
        if scope.recursive is not None and scope.recursive.result == t and scope.loops == 0 \
                and self.self_calls < MAX_SELF_CALLS:
            forms.append(lambda s, d: self.self_call(s, d))
        if t in INTS:
            forms += self.int_forms(t)
        elif t == "bool":
            forms += self.bool_forms()
        elif t == "string":
            forms += self.string_forms()
        elif t == "bytes":
            forms += [
                lambda s, d: f"({self.expr('string', s, d)} as bytes)",
                lambda s, d: f"({self.expr('bytes', s, d)} + {self.expr('bytes', s, d)})",
                lambda s, d: self.slice("bytes", s, d),
            ]
        elif t == "Color":
            forms += [lambda s, d: f"{self.expr('Rec', s, d)}.c"]
        elif t == "Duration":
            forms += self.duration_forms()
        elif t == "Size":
            forms += self.size_forms()
        elif t == "Rec":
            forms += [lambda s, d: self.index("[Rec]", s, d)]
        elif t in LISTS:
            forms += [
                lambda s, d: f"({self.expr(t, s, d)} + {self.expr(t, s, d)})",
                lambda s, d: self.slice(t, s, d),
            ]
            if t == "[u8]":
                forms.append(lambda s, d: f"{self.expr('Rec', s, d)}.xs")
        elif t in OPTIONS:
            forms.append(lambda s, d: f"some({self.expr(OPTIONS[t], s, d)})")
            if t == "u8?":
                forms.append(lambda s, d: f"{self.expr('Rec', s, d)}.o")
        return forms

    def int_forms(self, t: str) -> list[Callable[[Scope, int], str]]:
        ops = ("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>")
        forms: list[Callable[[Scope, int], str]] = [
            lambda s, d: self.arithmetic(t, self.pick(ops), s, d),
            lambda s, d: self.arithmetic(t, self.pick(ops), s, d),
            lambda s, d: f"({self.expr(self.pick(INTS), s, d)} as {t})",
            lambda s, d: f"{self.pick(('min', 'max'))}({self.expr(t, s, d)}, "
                         f"{self.expr(t, s, d)})",
        ]
        if t == "i64":
            forms.append(lambda s, d: f"(-{self.expr('i64', s, d)})")
        if t == "u64":
            forms += [
                lambda s, d: f"len({self.expr(self.pick(('string', 'bytes', *LISTS)), s, d)})",
                lambda s, d: self.index("[u64]", s, d),
                lambda s, d: f"({self.expr('Duration', s, d)} / {self.expr('Duration', s, d)})",
                lambda s, d: f"({self.expr('Size', s, d)} / {self.expr('Size', s, d)})",
            ]
        if t == "u8":
            forms += [
                lambda s, d: self.index(self.pick(("[u8]", "bytes")), s, d),
                lambda s, d: f"({self.expr('u8?', s, d)} ?? {self.expr('u8', s, d)})",
            ]
        if t == "u16":
            forms.append(lambda s, d: f"{self.expr('Rec', s, d)}.n")
        return forms

    def arithmetic(self, t: str, op: str, scope: Scope, depth: int) -> str:
        left = self.expr(t, scope, depth)
        if op in ("<<", ">>") and self.chance(70):
            right = f"({self.number(0, WIDTHS[t])} as {t})"
        elif op in ("/", "%") and self.chance(50):
            right = f"({self.number(0, 9)} as {t})"
        else:
            right = self.expr(t, scope, depth)
        return f"({left} {op} {right})"

    def bool_forms(self) -> list[Callable[[Scope, int], str]]:
        def compare(s: Scope, d: int) -> str:
            t = self.pick(TYPES)
            op = self.pick(("<", "<=", ">", ">=", "==", "!=") if t in ORDERED else ("==", "!="))
            return f"({self.expr(t, s, d)} {op} {self.expr(t, s, d)})"

        return [
            compare, compare,
            lambda s, d: f"(not {self.expr('bool', s, d)})",
            lambda s, d: f"({self.expr('bool', s, d)} {self.pick(('and', 'or'))} "
                         f"{self.expr('bool', s, d)})",
            lambda s, d: f"({self.expr(self.pick(tuple(OPTIONS)), s, d)} == none)",
        ]

    def string_forms(self) -> list[Callable[[Scope, int], str]]:
        return [
            lambda s, d: self.interpolation(s, d),
            lambda s, d: self.interpolation(s, d),
            lambda s, d: f"({self.expr('string', s, d)} + {self.expr('string', s, d)})",
            lambda s, d: f"({self.expr('string?', s, d)} ?? {self.expr('string', s, d)})",
            lambda s, d: f"(utf8({self.expr('bytes', s, d)}) ?? {self.expr('string', s, d)})",
            lambda s, d: f"{self.expr('Rec', s, d)}.s",
            lambda s, d: self.index("[string]", s, d),
        ]

    def duration_forms(self) -> list[Callable[[Scope, int], str]]:
        return [
            lambda s, d: f"({self.expr('Duration', s, d)} {self.pick(('+', '-'))} "
                         f"{self.expr('Duration', s, d)})",
            lambda s, d: f"({self.expr('Duration', s, d)} * {self.expr(self.pick(INTS), s, d)})",
            lambda s, d: f"({self.expr(self.pick(INTS), s, d)} * {self.expr('Duration', s, d)})",
            lambda s, d: f"({self.expr('Duration', s, d)} / {self.expr(self.pick(INTS), s, d)})",
            lambda s, d: f"({self.expr('Duration', s, d)} % {self.expr('Duration', s, d)})",
            lambda s, d: f"{self.pick(('min', 'max'))}({self.expr('Duration', s, d)}, "
                         f"{self.expr('Duration', s, d)})",
        ]

    def size_forms(self) -> list[Callable[[Scope, int], str]]:
        return [
            lambda s, d: f"({self.expr('Size', s, d)} {self.pick(('+', '-'))} "
                         f"{self.expr('Size', s, d)})",
            lambda s, d: f"({self.expr('Size', s, d)} * {self.expr(self.pick(INTS), s, d)})",
            lambda s, d: f"({self.expr(self.pick(INTS), s, d)} * {self.expr('Size', s, d)})",
            lambda s, d: f"({self.expr('Size', s, d)} / {self.expr(self.pick(INTS), s, d)})",
            lambda s, d: f"{self.pick(('min', 'max'))}({self.expr('Size', s, d)}, "
                         f"{self.expr('Size', s, d)})",
        ]

    def interpolation(self, scope: Scope, depth: int) -> str:
        parts = []
        for _ in range(self.number(1, 3)):
            text = self.draw(st.text(alphabet=LETTERS, max_size=3))
            parts.append(text + "{" + self.expr(self.pick(TYPES), scope, depth) + "}")
        return '"' + "".join(parts) + '"'

    def small_index(self, scope: Scope, depth: int) -> str:
        """A `u64` index or bound, mostly small enough to be in range."""
        loop_vars = [v.name for v in scope.of_type("u64")]
        choice = self.number(0, 9)
        if choice < 4:
            return f"({self.number(0, 4)} as u64)"
        if choice < 6 and loop_vars:
            return self.pick(loop_vars)
        if choice < 9:
            return f"({self.expr('u64', scope, depth)} % ({self.number(1, 5)} as u64))"
        return self.expr("u64", scope, depth)

    def index(self, t: str, scope: Scope, depth: int) -> str:
        return f"{self.expr(t, scope, depth)}[{self.small_index(scope, depth)}]"

    def slice(self, t: str, scope: Scope, depth: int) -> str:
        obj = self.expr(t, scope, depth)
        lower = self.small_index(scope, depth) if self.chance(70) else ""
        upper = self.small_index(scope, depth) if self.chance(70) else ""
        return f"{obj}[{lower}:{upper}]"

    def match_expr(self, t: str, scope: Scope, depth: int) -> str:
        kind = self.pick(("Color", "int", "option", "literal"))
        if kind == "literal":
            u = self.pick(tuple(PATTERNS))
            subject = self.expr(u, scope, depth)
            first, second = self.pick(PATTERNS[u]), self.pick(PATTERNS[u])
            arms = [f"{first} => {self.expr(t, scope, depth)}",
                    f"{second} => {self.expr(t, scope, depth)}",
                    f"_ => {self.expr(t, scope, depth)}"]
            return f"(match {subject} {{ {', '.join(arms)} }})"
        if kind == "Color":
            subject = self.expr("Color", scope, depth)
            if self.chance(50):
                arms = [f"Color.{c} => {self.expr(t, scope, depth)}" for c in COLORS]
            else:
                arms = [f"Color.{self.pick(COLORS)} => {self.expr(t, scope, depth)}",
                        f"_ => {self.expr(t, scope, depth)}"]
        elif kind == "int":
            u = self.pick(INTS)
            subject = self.expr(u, scope, depth)
            bound = self.fresh("m")
            inner = scope.child()
            inner.locals.append(Local(bound, u))
            arms = [f"{self.pattern_literal(u)} => {self.expr(t, scope, depth)}",
                    f"{self.pattern_literal(u)} | {self.pattern_literal(u)} => "
                    f"{self.expr(t, scope, depth)}",
                    f"{bound} => {self.expr(t, inner, depth)}"]
        else:
            o = self.pick(tuple(OPTIONS))
            subject = self.expr(o, scope, depth)
            bound = self.fresh("m")
            inner = scope.child()
            inner.locals.append(Local(bound, OPTIONS[o]))
            arms = [f"some({bound}) => {self.expr(t, inner, depth)}",
                    f"none => {self.expr(t, scope, depth)}"]
        return f"(match {subject} {{ {', '.join(arms)} }})"

    def pattern_literal(self, t: str) -> str:
        value = self.draw(st.one_of(st.integers(0, 3), st.sampled_from(
            [v for v in (RANGES[t][1], -1) if RANGES[t][0] <= v])))
        return str(value)

    def arguments(self, f: Function, scope: Scope, depth: int, named: bool = True) -> list[str]:
        """The arguments after the depth: positional, then (sometimes) the
        last ones by name, in any order."""
        params = f.params[1:] if f.recursive else f.params
        values = [self.expr(t, scope, depth, typed=True) for _, t in params]
        count = self.number(0, len(params)) if named else 0
        if count == 0:
            return values
        tail = [f"{n} = {v}" for (n, _), v in zip(params[-count:], values[-count:], strict=True)]
        return values[:-count] + list(self.draw(st.permutations(tail)))

    def callable(self, scope: Scope) -> list[Function]:
        """The functions a call here may still afford (see MAX_CALLS)."""
        rounds = MAX_LOOP_ROUNDS ** scope.loops
        return [f for f in self.functions if self.calls + rounds * f.calls <= MAX_CALLS]

    def call(self, f: Function, scope: Scope, depth: int) -> str:
        self.calls += MAX_LOOP_ROUNDS ** scope.loops * f.calls
        # By its name, or through a local holding it (positional arguments only).
        holders = [v.name for v in scope.locals if v.type == function_type(f)]
        callee = self.pick([f.name, *holders])
        args = self.arguments(f, scope, depth, named=callee == f.name)
        if f.recursive:
            depth_arg = self.pick((f"({self.number(0, MAX_DEPTH_ARGUMENT)} as u64)",
                                   f"(config.a % ({MAX_DEPTH_ARGUMENT + 1} as u64))"))
            args.insert(0, depth_arg)
        return f"{callee}({', '.join(args)})"

    def self_call(self, scope: Scope, depth: int) -> str:
        f = scope.recursive
        assert f is not None
        self.self_calls += 1
        return f"{f.name}({', '.join(['d - 1', *self.arguments(f, scope, depth)])})"

    # ---------------------------------------------------------------- statements
    def block(self, scope: Scope, depth: int, count: int) -> list[str]:
        lines: list[str] = []
        for _ in range(count):
            if self.budget <= 0:
                break
            lines += self.statement(scope, depth)
        return lines

    def statement(self, scope: Scope, depth: int) -> list[str]:
        kinds = ["let"] * 5 + ["var"] * 2 + ["print"] * 4 + ["call"]
        if any(v.mutable for v in scope.locals):
            kinds += ["assign"] * 4
        if depth > 0:
            kinds += ["if"] * 2 + ["match"] + ["iflet"]
            if scope.loops < MAX_LOOP_NESTING:
                kinds += ["range", "each", "while"]
        if scope.loops > 0:
            kinds += ["break", "continue"]
        kinds += ["return"]
        kinds.append("exit")
        kind = self.pick(kinds)
        return getattr(self, f"stmt_{kind}")(scope, depth)  # type: ignore[no-any-return]

    def stmt_let(self, scope: Scope, depth: int, mutable: bool = False) -> list[str]:
        if self.functions and not mutable and self.chance(10):
            # A function value, called through the local later on.
            f = self.pick(self.functions)
            name = self.fresh("v")
            scope.locals.append(Local(name, function_type(f)))
            return [f"let {name}: {function_type(f)} = {f.name}"]
        t = self.pick(TYPES)
        value = self.expr(t, scope, 3, typed=True)
        ours = [v for v in scope.locals if v.name.startswith("v")]
        if ours and self.chance(15):
            # A new variable under the name of an earlier one, which it hides.
            name = self.pick(ours).name
            scope.locals[:] = [v for v in scope.locals if v.name != name]
        else:
            name = self.fresh("v")
        scope.locals.append(Local(name, t, mutable))
        return [f"{'var' if mutable else 'let'} {name}: {t} = {value}"]

    def stmt_var(self, scope: Scope, depth: int) -> list[str]:
        return self.stmt_let(scope, depth, mutable=True)

    def stmt_assign(self, scope: Scope, depth: int) -> list[str]:
        target = self.pick([v for v in scope.locals if v.mutable])
        if target.type in INTS and self.chance(60):
            op = self.pick(("+=", "-=", "*="))
            return [f"{target.name} {op} {self.expr(target.type, scope, 2)}"]
        if target.type in ("string", "[u8]") and self.chance(50):
            # Grows by a literal, never by itself, so it cannot double in a loop.
            addition = self.literal(target.type, scope, 1, False)
            return [f"{target.name} = {target.name} + {addition}"]
        sources = scope
        if target.type in GROWABLE:
            # No mutable string, list... feeds it, so no two variables can
            # double each other round after round.
            sources = scope.child(locals=[v for v in scope.locals
                                          if not (v.mutable and v.type in GROWABLE)])
        return [f"{target.name} = {self.expr(target.type, sources, 2, typed=True)}"]

    def stmt_print(self, scope: Scope, depth: int) -> list[str]:
        if self.chance(70):
            t = self.pick(TYPES)
            label = self.fresh("t")
            return [f'print("{label} {{{self.expr(t, scope, 3)}}}")']
        return [f"print({self.expr('string', scope, 3)})"]

    def stmt_call(self, scope: Scope, depth: int) -> list[str]:
        effects = [f for f in self.callable(scope) if f.result is None]
        if scope.recursive is not None and scope.recursive.result is None and \
                scope.loops == 0 and self.self_calls < MAX_SELF_CALLS:
            self.self_calls += 1
            f = scope.recursive
            return [f"{f.name}({', '.join(['d - 1', *self.arguments(f, scope, 2)])})"]
        if not effects:
            return self.stmt_print(scope, depth)
        return [self.call(self.pick(effects), scope, 2)]

    def nested(self, scope: Scope, depth: int, **changes: object) -> list[str]:
        inner = scope.child(**changes)
        body = self.block(inner, depth - 1, self.number(1, 3))
        if self.chance(50):
            body += self.observe([v for v in inner.locals if v not in scope.locals])
        return ["  " + line for line in body] or ["  print(\"empty\")"]

    def observe(self, values: list[Local]) -> list[str]:
        """A `print` of the values of ``values`` (so that what they hold
        shows in the output)."""
        values = [v for v in values if not v.type.startswith("fn(")]  # not interpolated
        if not values:
            return []
        label = self.fresh("s")
        return [f'print("{label}' + "".join(f" {{{v.name}}}" for v in values) + '")']

    def stmt_if(self, scope: Scope, depth: int) -> list[str]:
        lines = [f"if {self.expr('bool', scope, 3)} {{", *self.nested(scope, depth)]
        if self.chance(30):
            lines += [f"}} else if {self.expr('bool', scope, 2)} {{", *self.nested(scope, depth)]
        if self.chance(50):
            lines += ["} else {", *self.nested(scope, depth)]
        return [*lines, "}"]

    def stmt_iflet(self, scope: Scope, depth: int) -> list[str]:
        o = self.pick(tuple(OPTIONS))
        name = self.fresh("o")
        inner = scope.child()
        inner.locals.append(Local(name, OPTIONS[o]))
        lines = [f"if let {name} = {self.expr(o, scope, 3)} {{", *self.nested(inner, depth)]
        if self.chance(50):
            lines += ["} else {", *self.nested(scope, depth)]
        return [*lines, "}"]

    def stmt_match(self, scope: Scope, depth: int) -> list[str]:
        if self.chance(50):
            lines = [f"match {self.expr('Color', scope, 2)} {{"]
            first = self.pick(COLORS)
            lines += [f"  Color.{first} => {{", *self.indent(self.nested(scope, depth)), "  }"]
            lines += ["  _ => {", *self.indent(self.nested(scope, depth)), "  }"]
        else:
            u = self.pick(INTS)
            bound = self.fresh("m")
            inner = scope.child()
            inner.locals.append(Local(bound, u))
            lines = [f"match {self.expr(u, scope, 2)} {{"]
            lines += [f"  {self.pattern_literal(u)} => {{",
                      *self.indent(self.nested(scope, depth)), "  }"]
            lines += [f"  {bound} => {{", *self.indent(self.nested(inner, depth)), "  }"]
        return [*lines, "}"]

    @staticmethod
    def indent(lines: list[str]) -> list[str]:
        return ["  " + line for line in lines]

    def stmt_range(self, scope: Scope, depth: int) -> list[str]:
        name = self.fresh("i")
        low = self.number(0, 3)
        rounds = self.number(0, 4)
        form = self.number(0, 2)
        if form == 0:  # bare literals: the loop variable is an i64
            t, bounds = "i64", f"{low}..{low + rounds}"
        elif form == 1:
            t = self.pick(INTS)
            bounds = f"({low} as {t})..({low + rounds} as {t})"
        else:
            t = "u64"
            bounds = f"({low} as u64)..(config.a % ({rounds + 1} as u64))"
        inner = scope.child(loops=scope.loops + 1)
        inner.locals.append(Local(name, t))
        return [f"for {name} in {bounds} {{", *self.nested(inner, depth), "}"]

    def stmt_each(self, scope: Scope, depth: int) -> list[str]:
        t = self.pick((*LISTS, "bytes"))
        element = "u8" if t == "bytes" else LISTS[t]
        name = self.fresh("e")
        iterable = self.expr(t, scope, 2)
        inner = scope.child(loops=scope.loops + 1)
        inner.locals.append(Local(name, element))
        return [f"for {name} in {iterable} {{", *self.nested(inner, depth), "}"]

    def stmt_while(self, scope: Scope, depth: int) -> list[str]:
        counter = self.fresh("w")
        inner = scope.child(loops=scope.loops + 1)
        inner.locals.append(Local(counter, "u64"))  # read-only to the body: it always ends
        return [f"var {counter}: u64 = 0",
                f"while {counter} < ({self.number(0, 4)} as u64) {{",
                f"  {counter} += 1",
                *self.nested(inner, depth), "}"]

    def stmt_break(self, scope: Scope, depth: int) -> list[str]:
        return [f"if {self.expr('bool', scope, 2)} {{", "  break", "}"]

    def stmt_continue(self, scope: Scope, depth: int) -> list[str]:
        return [f"if {self.expr('bool', scope, 2)} {{", "  continue", "}"]

    def stmt_return(self, scope: Scope, depth: int) -> list[str]:
        value = f" {self.expr(scope.result, scope, 2)}" if scope.result is not None else ""
        return [f"if {self.expr('bool', scope, 2)} {{", f"  return{value}", "}"]

    def stmt_exit(self, scope: Scope, depth: int) -> list[str]:
        code = self.expr("u8", scope, 2)  # above 127: status 126 and a message
        return [f"if {self.expr('bool', scope, 2)} {{", f"  exit({code})", "}"]

    # ---------------------------------------------------------------- declarations
    def global_var(self) -> str:
        t = self.pick(GLOBAL_TYPES)
        name = self.fresh("@g")
        self.globals.append(Local(name, t, mutable=True))
        return f"var {name}: {t} = {self.literal(t, Scope([], constant=True), 1, True)}"

    def function(self) -> list[str]:
        recursive = self.chance(40)
        params: list[tuple[str, str]] = [("d", "u64")] if recursive else []
        params += [(self.fresh("a"), self.pick(TYPES)) for _ in range(self.number(0, 2))]
        result = self.pick((*TYPES, None, None))
        f = Function(self.fresh("@f"), tuple(params), result, recursive)
        base = Scope([*self.globals, *(Local(n, t) for n, t in params)], result=result,
                     in_function=True)
        self.self_calls = 0
        outer_calls, self.calls = self.calls, 0
        lines: list[str] = []
        if recursive:
            done = f"return {self.expr(result, base, 2)}" if result is not None else "return"
            lines += ["if d == 0 {", f"  {done}", "}"]
        scope = base.child(recursive=f if recursive else None)
        lines += self.block(scope, 2, self.number(1, 3))
        if result is not None:
            lines.append(f"return {self.expr(result, scope, 3)}")
        signature = ", ".join(f"{n}: {t}" for n, t in params)
        arrow = f" -> {result}" if result is not None else ""
        # Each body runs what it calls; a recursive one runs itself up to
        # self_calls times per level, MAX_DEPTH_ARGUMENT + 1 levels deep.
        levels = sum(self.self_calls ** i for i in range(MAX_DEPTH_ARGUMENT + 1)) \
            if recursive else 1
        f.calls = (1 + self.calls) * levels
        self.calls = outer_calls
        self.functions.append(f)
        return [f"fn {f.name}({signature}){arrow} {{", *self.indent(lines), "}"]

    def program(self) -> Program:
        parts = [self.global_var() for _ in range(self.number(0, 2))]
        for _ in range(self.number(0, 3)):
            parts.append("\n".join(self.function()))
        self.budget = max(self.budget, 60)
        self.self_calls = MAX_SELF_CALLS
        scope = Scope(list(self.globals))
        body = self.block(scope, 3, self.number(2, 6))
        # Every function runs at least once, and what it gives is shown.
        for f in self.callable(scope):
            call = self.call(f, scope, 1)
            body.append(call if f.result is None else f'print("{self.fresh("r")} {{{call}}}")')
        body += self.observe(scope.locals)
        parts.append("\n".join(["fn @run() {", *self.indent(body), "}"]))
        return Program("\n\n".join(parts) + "\n")


def function_type(f: Function) -> str:
    result = f" -> {f.result}" if f.result is not None else ""
    return f"fn({', '.join(t for _, t in f.params)}){result}"


@st.composite
def programs(draw: st.DrawFn) -> Program:
    """A random well-typed program (see the module's docstring)."""
    return Writer(draw).program()


@st.composite
def param_values(draw: st.DrawFn) -> dict[str, int | str]:
    """Values for the `param` keys of a batch: edges and small numbers."""
    def edges(t: str) -> st.SearchStrategy[int]:
        low, high = RANGES[t]
        return st.one_of(st.sampled_from([v for v in (low, 0, 1, 3, 7, high) if low <= v]),
                         st.integers(0, 40), st.integers(low, high))

    return {"a": draw(edges("u64")), "b": draw(edges("i64")), "c": draw(edges("u8")),
            "w": draw(st.text(alphabet=LETTERS, max_size=4))}


def draw_batch(count: int, seed: int) -> tuple[list[Program], dict[str, int | str]]:
    """``count`` distinct programs and `param` values, from ``seed``."""
    found: dict[str, Program] = {}
    values: list[dict[str, int | str]] = []
    quiet = settings(database=None, phases=[Phase.generate], deadline=None,
                     suppress_health_check=list(HealthCheck), max_examples=count * 3)

    @with_seed(seed)
    @quiet
    @given(programs())
    def gather(program: Program) -> None:
        if len(found) < count:
            found.setdefault(program.text, program)

    @with_seed(seed)
    @settings(quiet, max_examples=5)  # the first example is the simplest: all zeros
    @given(param_values())
    def params(drawn: dict[str, int | str]) -> None:
        values.append(drawn)

    gather()
    params()
    return list(found.values()), values[-1]


if __name__ == "__main__":
    # tests/program_batches.py runs this in a process of its own (see there).
    batch, chosen = draw_batch(int(sys.argv[1]), int(sys.argv[2]))
    json.dump({"programs": [p.text for p in batch], "params": chosen}, sys.stdout)
