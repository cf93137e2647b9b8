"""``specc fmt``: the canonical layout, comment placement, and the promise
that formatting never changes what a file means.

Property tests run over every spec of the repository (the examples, the
prelude, the golden cases) and over random expressions and random comments;
each formatted text must parse to the same syntax tree (compared without
positions by :func:`dump`, written here independently of the formatter's own
check), check to the same diagnostics, and format to itself.
"""

from __future__ import annotations

import dataclasses
import os
import textwrap
from enum import Enum
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from specc import ast
from specc.api import check_source
from specc.cli import main
from specc.diagnostics import DiagnosticSink
from specc.fmt import format_source, format_text
from specc.fmt.verify import structure
from specc.span import SourceFile, Span
from specc.syntax.parser import parse_module

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- helpers


def parse(text: str, path: str = "<string>") -> ast.Module | None:
    sink = DiagnosticSink()
    module = parse_module(SourceFile(path, text), sink)
    if any(d.code.startswith("E000") for d in sink.items):
        return None
    return module


# Members whose doc the tokenizer also takes from a documented declaration
# that shares their line (see test_joining_a_struct_onto_one_line_keeps_member_docs).
MEMBERS = (ast.FieldDecl, ast.EnumVariant, ast.OpDecl, ast.ConfigKey, ast.DeviceDecl)


def dump(node: object) -> object:
    """A syntax tree without positions, comments or member docs: equal for
    the same program (member docs are compared by :func:`structure`)."""
    if isinstance(node, Span):
        return None
    if isinstance(node, tuple | list):
        return tuple(dump(item) for item in node)
    if isinstance(node, Enum):
        return node.value
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        skip = {"span", "comments", "path", *(["doc"] if isinstance(node, MEMBERS) else [])}
        return (type(node).__name__, tuple(
            (f.name, dump(getattr(node, f.name))) for f in dataclasses.fields(node)
            if f.name not in skip and not f.name.endswith("_span")
        ))
    return node


def fmt(text: str, width: int = 100) -> str:
    result = format_text(text, width=width)
    assert result.internal_error is None, result.internal_error
    assert result.text is not None, [d.message for d in result.diagnostics]
    return result.text


def same(source: str, expected: str) -> None:
    """``source`` formats to ``expected`` (dedented), which is a fixed point."""
    expected = textwrap.dedent(expected).lstrip("\n")
    got = fmt(textwrap.dedent(source).lstrip("\n"))
    assert got == expected
    assert fmt(got) == got


def program(*lines: str) -> str:
    return "unikernel t\n\nmain {\n" + "".join(f"  {line}\n" for line in lines) + "}\n"


def assert_preserves(text: str, path: str = "<string>", width: int = 100) -> str:
    """``text`` formats, to the same tree and comments, and idempotently."""
    before = parse(text, path)
    assert before is not None
    result = format_text(text, path, width=width)
    assert result.internal_error is None, result.internal_error
    assert result.text is not None
    after = parse(result.text, path)
    assert after is not None, result.text
    assert dump(after.decls) == dump(before.decls)
    assert structure(after) == structure(before)
    assert sorted(c.text.rstrip() for c in after.comments) == sorted(
        c.text.rstrip() for c in before.comments)
    assert format_text(result.text, path, width=width).text == result.text
    assert result.text.endswith("\n") or result.text == ""
    assert not result.text.endswith("\n\n")
    assert all(line == line.rstrip() for line in result.text.split("\n"))
    return result.text


# --------------------------------------------------------------------------- layout


def test_canonical_layout() -> None:
    same(
        """
        unikernel   demo   "a demo"
        config {
              const port : u16=53  requires port!=0
        param max: u16 = 1232
        }
        devices {
          udp4    = udp(ip)
          ip = host_ip( )
        }
        fn f(a:u8,b :u8)->u8{ let x=a+b*2 ; return x }
        main { if true { print("a") }
        else { print("b") } }
        """,
        """
        unikernel demo "a demo"

        config {
          const port: u16 = 53 requires port != 0
          param max: u16 = 1232
        }

        devices {
          udp4 = udp(ip)
          ip   = host_ip()
        }

        fn f(a: u8, b: u8) -> u8 {
          let x = a + b * 2
          return x
        }

        main {
          if true {
            print("a")
          } else {
            print("b")
          }
        }
        """,
    )


def test_blank_lines_inside_blocks_are_kept_but_never_doubled() -> None:
    same(
        """
        unikernel t
        main {


          let a = 1



          let b = 2
        }
        """,
        """
        unikernel t

        main {
          let a = 1

          let b = 2
        }
        """,
    )


def test_use_lines_stay_together_and_declarations_get_one_blank_line() -> None:
    same(
        """
        unikernel t
        use "a.spec"
        use "b.spec"
        fn f() {}
        fn g() {}
        main {}
        """,
        """
        unikernel t
        use "a.spec"
        use "b.spec"

        fn f() {}

        fn g() {}

        main {}
        """,
    )


def test_struct_and_enum_on_one_line_when_they_fit() -> None:
    same(
        """
        enum Color {
          red,
          green
        }
        struct P { x: u8,
          y: u8 }
        """,
        """
        enum Color { red, green }

        struct P { x: u8, y: u8 }
        """,
    )
    long_fields = ", ".join(f"field_number_{i}: u32" for i in range(8))
    text = fmt(f"struct Big {{ {long_fields} }}\n")
    assert text.splitlines()[0] == "struct Big {"
    assert text.splitlines()[1] == "  field_number_0: u32,"
    assert text.splitlines()[-2] == "  field_number_7: u32,"
    assert all(len(line) <= 100 for line in text.splitlines())


def test_long_calls_and_literals_break_one_item_per_line() -> None:
    args = ", ".join(f"argument_{i}" for i in range(12))
    text = fmt(program(f"let x = f({args})"))
    assert "  let x = f(\n    argument_0,\n" in text
    assert "    argument_11,\n  )\n" in text
    # A lone argument hugs the parentheses instead.
    long_string = '"' + "x" * 120 + '"'
    assert f"  print({long_string})\n" in fmt(program(f"print({long_string})"))


def test_if_expression_breaks_before_else() -> None:
    cond = " and ".join(f"flag_{i}" for i in range(6))
    text = fmt(program(f"let v = if {cond} then first_choice(1, 2) else second_choice(3, 4)"))
    # `else` lines up under its `if`.
    assert "\n          else second_choice(3, 4)\n" in text


def test_match_arms_one_per_line() -> None:
    same(
        """
        fn f(x: u8) -> u8 {
          return match x { 0 => 1, 1 | 2 => 2, _ => { return 3 } }
        }
        """,
        """
        fn f(x: u8) -> u8 {
          return match x {
            0     => 1
            1 | 2 => 2
            _ => {
              return 3
            }
          }
        }
        """,
    )


def test_devices_and_arms_align_in_runs() -> None:
    # `=` of neighbouring devices and `=>` of neighbouring arms in one column;
    # a blank line starts a new run, and an entry whose value is a block
    # (a `match`, a block arm) keeps one space and is in no run.
    same(
        """
        devices {
          ip = match target { Target.hvt => static_ipv4(ethernet(virtio_net()), 10.0.0.2/24)
          _ => host_ip() }
          udp4 = udp(ip)
          ## The log.
          log = console_log()
          dns_tcp = dns_over_tcp(tcp(ip), db)  # trailing

          t = timer()
          db = dns_zone(zonefile("z"))
        }
        fn f(x: u8) -> u8 {
          return match x { 0 => 1, 1 | 2 => 2, _ => { return 3 }, 200 => 4 }
        }
        """,
        """
        devices {
          ip = match target {
            Target.hvt => static_ipv4(ethernet(virtio_net()), 10.0.0.2/24)
            _          => host_ip()
          }
          udp4    = udp(ip)
          ## The log.
          log     = console_log()
          dns_tcp = dns_over_tcp(tcp(ip), db)  # trailing

          t  = timer()
          db = dns_zone(zonefile("z"))
        }

        fn f(x: u8) -> u8 {
          return match x {
            0     => 1
            1 | 2 => 2
            _ => {
              return 3
            }
            200 => 4
          }
        }
        """,
    )


def test_literals_are_copied_as_written() -> None:
    literals = ['0x2a', '0b1010', '1_000', '"tab\\t{x + 1} {{brace}}"', 'b"\\x00\\xff"', '250ms',
                '64KiB', '10.0.0.2', '10.0.0.0/24', '"\\u{1F600}"']
    for literal in literals:
        assert f"  let v = {literal}\n" in fmt(program(f"let v   =   {literal}"))


@pytest.mark.parametrize(("source", "expected"), [
    ("(a + b) * c", "(a + b) * c"),
    ("a + (b * c)", "a + b * c"),
    ("a - (b - c)", "a - (b - c)"),
    ("(a - b) - c", "a - b - c"),
    ("-(a + b)", "-(a + b)"),
    ("- -a", "- -a"),
    ("-(-a)", "- -a"),
    ("not (a and b)", "not (a and b)"),
    ("(not a) and b", "not a and b"),
    ("(a ?? b) ?? c", "(a ?? b) ?? c"),
    ("a ?? (b ?? c)", "a ?? b ?? c"),
    ("(a == b) == c", "(a == b) == c"),
    ("(if a then b else c) + 1", "(if a then b else c) + 1"),
    ("if a then (if b then c else d) else e", "if a then (if b then c else d) else e"),
    ("if a then b else (if c then d else e)", "if a then b else if c then d else e"),
    ("(a as u8) as u16", "a as u8 as u16"),
    ("(-a) as u8", "(-a) as u8"),
    ("-(a as u8)", "-a as u8"),
    ("(a + b).c", "(a + b).c"),
    ("(10.0.0.1).x", "(10.0.0.1).x"),
    ("(f)(x)[1][2:][:3]", "f(x)[1][2:][:3]"),
    ("(a | b) & c", "(a | b) & c"),
    ("a << (b + c)", "a << b + c"),
    ("(a < b) or (c and d)", "a < b or c and d"),
])
def test_parentheses_follow_precedence(source: str, expected: str) -> None:
    assert fmt(program(f"let v = {source}")) == program(f"let v = {expected}")


def test_struct_literals_in_conditions_keep_their_parentheses() -> None:
    same(
        """
        main {
          if p == (P { a: 1 }) { }
          while (P { a: 1 }).a > 0 { }
          match (P { a: 1 }) { _ => 1 }
          for i in (P { a: 1 }).a..(Q {}).b { }
          if let v = (P { a: 1 }).o { }
          let w = if (P { a: 1 }) == p then 1 else 2
          if f(P { a: 1 }) and [P { a: 2 }] == x { }
          if (if a then b else c) { }
        }
        """,
        """
        main {
          if p == (P { a: 1 }) {}
          while (P { a: 1 }).a > 0 {}
          match (P { a: 1 }) {
            _ => 1
          }
          for i in (P { a: 1 }).a..(Q {}).b {}
          if let v = (P { a: 1 }).o {}
          let w = if (P { a: 1 }) == p then 1 else 2
          if f(P { a: 1 }) and [P { a: 2 }] == x {}
          if (if a then b else c) {}
        }
        """,
    )


def test_types_and_components() -> None:
    same(
        """
        interface Log { fn debug(m: string); fn info(m: string) -> bool }
        component c(ip: Ip, const n: u8 = 8) -> Udp { targets hvt, unix
        impl c "net/udp.c"
        drop debug when n > 2 }
        component d() -> Udp = match target { Target.hvt => c(ip, n = 2), _ => c(ip) }
        component e() -> Net
        fn f(g: fn(u8, [u8]) -> u8?  ?, h: fn()) {}
        """,
        """
        interface Log {
          fn debug(m: string)
          fn info(m: string) -> bool
        }

        component c(ip: Ip, const n: u8 = 8) -> Udp {
          targets hvt, unix
          impl c "net/udp.c"
          drop debug when n > 2
        }

        component d() -> Udp = match target {
          Target.hvt => c(ip, n = 2)
          _          => c(ip)
        }

        component e() -> Net {}

        fn f(g: fn(u8, [u8]) -> u8? ?, h: fn()) {}
        """,
    )


def test_empty_and_whitespace_files() -> None:
    assert fmt("") == ""
    assert fmt("\n\n  \n") == ""
    assert fmt("# only a comment\n\n\n") == "# only a comment\n"


def test_syntax_errors_are_never_formatted() -> None:
    broken = "unikernel t\nmain {\n  let = 3\n}\n"
    assert format_source(broken) is None
    result = format_text(broken, "x.spec")
    assert result.text is None and result.internal_error is None
    assert [d.code for d in result.diagnostics] == ["E0001"]
    assert format_source("main {") is None
    assert format_source('main { print("\\q") }') is None  # a bad escape is a syntax error too


# --------------------------------------------------------------------------- comments


def test_comments_on_their_own_lines_and_at_line_ends() -> None:
    same(
        """
        # header

        ## The app.
        unikernel t  # trailing on unikernel
        ## Docs stay right above.

        fn f() -> u8 {   # after the brace
              # before let
          let x = 1 # after let


            # before return, after a blank line
          return x
          # at the end of the block
        }  # after the function
        main {
          # alone in a block
        }
        # at the end of the file
        """,
        """
        # header

        ## The app.
        unikernel t  # trailing on unikernel

        ## Docs stay right above.
        fn f() -> u8 {  # after the brace
          # before let
          let x = 1  # after let

          # before return, after a blank line
          return x
          # at the end of the block
        }  # after the function

        main {
          # alone in a block
        }
        # at the end of the file
        """,
    )


def test_comments_in_containers() -> None:
    same(
        """
        enum E { a, # the a
          ## documented b
          b }
        config {
          ## The port.
          const port: u16 = 53  # well known
        }
        devices {  # the graph
          # the ip
          ip = host_ip()
        }
        main {
          f(a, # first
            b)
          match x {
            # zero
            0 => 1  # one
            _ => 2
          }
          let xs = [
            1,
            # two is next
            2,
          ]
        }
        """,
        """
        enum E {
          a,  # the a
          ## documented b
          b,
        }

        config {
          ## The port.
          const port: u16 = 53  # well known
        }

        devices {  # the graph
          # the ip
          ip = host_ip()
        }

        main {
          f(
            a,  # first
            b,
          )
          match x {
            # zero
            0 => 1  # one
            _ => 2
          }
          let xs = [
            1,
            # two is next
            2,
          ]
        }
        """,
    )


def test_comment_inside_an_expression_moves_before_its_statement() -> None:
    same(
        """
        main {
          let x = a +  # why
            b
          if c and  # because
             d {
          }
        }
        """,
        """
        main {
          # why
          let x = a + b
          # because
          if c and d {}
        }
        """,
    )


def test_comment_text_is_kept_except_trailing_blanks() -> None:
    text = fmt("main {}   # ends with blanks   \n#\tcoded: ü  \n")
    assert text == "main {}  # ends with blanks\n#\tcoded: ü\n"


# --------------------------------------------------------------------------- properties


def corpus() -> list[Path]:
    files = sorted((ROOT / "examples").rglob("*.spec"))
    files.append(ROOT / "specc" / "prelude" / "prelude.spec")
    files += sorted((ROOT / "tests" / "golden").rglob("*.spec"))
    # That case nests deeper than the formatter formats (it refuses, by design).
    return [f for f in files if f.name != "nested_too_deeply.spec"]


def strip_markers(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.startswith("#^"))


def target_of(text: str) -> str:
    first = text.split("\n", 1)[0].replace(" ", "")
    for target in ("unix", "python"):
        if first == f"#target:{target}":
            return target
    return "hvt"


def diagnostics_of(text: str, path: str) -> list[tuple[object, ...]]:
    result = check_source(text, path, target=target_of(text))
    return [(d.code, d.severity, d.message, d.hint, tuple(n.message for n in d.notes))
            for d in result.diagnostics]


@pytest.mark.parametrize("path", corpus(), ids=lambda p: str(p.relative_to(ROOT)))
def test_corpus_formats_to_the_same_program(path: Path) -> None:
    text = strip_markers(path.read_text(encoding="utf-8"))
    if parse(text, str(path)) is None:
        pytest.skip("has syntax errors")
    for width in (100, 0):
        formatted = assert_preserves(text, str(path), width)
        if width == 100:
            assert diagnostics_of(formatted, str(path)) == diagnostics_of(text, str(path))


# Random expressions: the formatter must put back exactly the parentheses that
# keep the tree, in every context, at every width.

_ATOMS = ["a", "b", "x_1", "42", "0x2a", "1_000", '"s"', '"x{a + 1}y"', 'b"\\x00"', "250ms",
          "64KiB", "10.0.0.2", "10.0.0.0/24", "true", "false", "none", "target", "config.k"]
_BINARY = ["??", "or", "and", "==", "!=", "<", "<=", ">", ">=", "|", "^", "&", "<<", ">>", "+",
           "-", "*", "/", "%"]
_TYPES = ["u8", "u16?", "[u8]", "fn(u8) -> bool", "P"]
_PATTERNS = ["_", "v", "1", "-1", '"s"', "true", "E.a", "some(v)", "some(E.a | E.b)", "none",
             "1 | 2"]
_CONTEXTS = [
    "let v = {0}", "if {0} {{\n  }}", "while {0} {{\n  }}", "for i in {0} {{\n  }}",
    "for i in {0}..{1} {{\n  }}", "match {0} {{\n    _ => 1\n  }}", "if let v = {0} {{\n  }}",
    "f({0}, n = {1})", "v = {0}", "return {0}", "x.y({0}).z[{1}]",
]


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth >= 4 or draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(_ATOMS))

    def sub() -> str:
        text = draw(expressions(depth + 1))
        return f"({text})" if draw(st.booleans()) else text

    kind = draw(st.integers(0, 12))
    if kind <= 3:
        return f"{sub()} {draw(st.sampled_from(_BINARY))} {sub()}"
    if kind == 4:
        return f"{draw(st.sampled_from(['-', 'not ']))}{sub()}"
    if kind == 5:
        return f"{sub()} as {draw(st.sampled_from(_TYPES))}"
    if kind == 6:
        return draw(st.sampled_from([f"{sub()}.f", f"{sub()}[{sub()}]", f"{sub()}[{sub()}:]",
                                     f"{sub()}[:{sub()}]", f"{sub()}({sub()}, n = {sub()})"]))
    if kind == 7:
        return f"if {sub()} then {sub()} else {sub()}"
    if kind == 8:
        arms = [f"{draw(st.sampled_from(_PATTERNS))} => {sub()}" for _ in range(draw(st.integers(1, 3)))]
        return f"match {sub()} {{ {', '.join(arms)} }}"
    if kind == 9:
        return f"P {{ a: {sub()}, b: {sub()} }}"
    if kind == 10:
        return f"[{sub()}, {sub()}]"
    if kind == 11:
        return f"some({sub()})"
    return f"f({sub()})"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                   HealthCheck.too_slow])
@given(expressions(), expressions(), st.sampled_from(_CONTEXTS), st.sampled_from([100, 30, 0]))
def test_random_expressions_keep_their_tree(first: str, second: str, context: str,
                                            width: int) -> None:
    text = "unikernel t\n\nfn g() {\n  " + context.format(first, second) + "\n}\n"
    assume(parse(text) is not None)
    assert_preserves(text, width=width)


_PLACES = st.lists(st.tuples(st.integers(0, 10_000), st.booleans()), max_size=25)


@st.composite
def statements(draw: st.DrawFn, depth: int = 0) -> str:
    """A random statement (source text, on one or more lines)."""
    small = expressions(3)

    def block() -> str:
        count = draw(st.integers(0, 0 if depth >= 2 else 3))
        body = [draw(statements(depth + 1)) for _ in range(count)]
        separator = draw(st.sampled_from(["\n", "; ", "\n\n"]))
        return "{" + separator + separator.join(body) + "\n}"

    kind = draw(st.integers(0, 9))
    if kind == 0:
        keyword = draw(st.sampled_from(["let", "var"]))
        annotation = draw(st.sampled_from(["", ": u8", ": [u8?]", ": fn(u8) -> bool"]))
        return f"{keyword} v{annotation} = {draw(small)}"
    if kind == 1:
        return f"v {draw(st.sampled_from(['=', '+=', '-=', '*=']))} {draw(small)}"
    if kind == 2:
        text = f"if {draw(small)} {block()}"
        for _ in range(draw(st.integers(0, 2))):
            text += f" else if {draw(small)} {block()}"
        if draw(st.booleans()):
            text += f" else {block()}"
        return text
    if kind == 3:
        return f"if let v = {draw(small)} {block()} else {block()}"
    if kind == 4:
        return f"while {draw(small)} {block()}"
    if kind == 5:
        upper = f"..{draw(small)}" if draw(st.booleans()) else ""
        return f"for i in {draw(small)}{upper} {block()}"
    if kind == 6:
        arms = []
        for _ in range(draw(st.integers(1, 3))):
            body = block() if draw(st.booleans()) else draw(statements(depth + 1))
            arms.append(f"{draw(st.sampled_from(_PATTERNS))} => {body}")
        return f"match {draw(small)} {{\n" + "\n".join(arms) + "\n}"
    if kind == 7:
        return draw(st.sampled_from(["return", "break", "continue", f"return {draw(small)}"]))
    if kind == 8:
        return block()
    return draw(small)


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                   HealthCheck.too_slow])
@given(st.lists(statements(), min_size=1, max_size=4), st.sampled_from([100, 30, 0]), _PLACES)
def test_random_statements_keep_their_tree(body: list[str], width: int,
                                           places: list[tuple[int, bool]]) -> None:
    text = "unikernel t\n\nfn g() {\n" + "\n".join(body) + "\n}\n"
    assume(parse(text) is not None)
    formatted = assert_preserves(text, width=width)
    assert_preserves(sprinkle(formatted, places), width=width)


def parseable_corpus() -> list[Path]:
    return [p for p in corpus() if parse(strip_markers(p.read_text(encoding="utf-8"))) is not None]


def sprinkle(text: str, places: list[tuple[int, bool]]) -> str:
    """``text`` with comments at the end of some lines and on lines of their own."""
    lines = text.split("\n")
    for number, (line, own_line) in enumerate(places):
        at = line % len(lines)
        if own_line:
            lines.insert(at, f"# own {number}")
        else:
            lines[at] += f"  # end {number}"
    return "\n".join(lines)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(parseable_corpus()), _PLACES, st.sampled_from([100, 0]))
def test_random_comments_are_kept(path: Path, places: list[tuple[int, bool]], width: int) -> None:
    text = strip_markers(path.read_text(encoding="utf-8"))
    assert_preserves(sprinkle(text, places), str(path), width)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                   HealthCheck.too_slow])
@given(expressions(), expressions(), st.sampled_from(_CONTEXTS), st.sampled_from([100, 30, 0]),
       _PLACES)
def test_random_comments_in_broken_expressions(first: str, second: str, context: str, width: int,
                                               places: list[tuple[int, bool]]) -> None:
    """Comments at every line of an expression laid out one piece per line."""
    text = "unikernel t\n\nfn g() {\n  " + context.format(first, second) + "\n}\n"
    assume(parse(text) is not None)
    assert_preserves(sprinkle(fmt(text, width=0), places), width=width)


def test_doc_comments_and_crlf() -> None:
    same("## doc\r\nfn f() {}\r\n# c\r\n", "## doc\nfn f() {}\n# c\n")


def test_joining_a_struct_onto_one_line_keeps_member_docs() -> None:
    formatted = assert_preserves("## A point.\nstruct P {\n  x: u8,\n  y: u8\n}\n")
    assert formatted == "## A point.\nstruct P { x: u8, y: u8 }\n"
    module = parse(formatted)
    assert module is not None and isinstance(module.decls[0], ast.StructDecl)
    assert [f.doc for f in module.decls[0].fields] == [None, None]


def test_too_deep_nesting_is_refused_not_raised() -> None:
    text = "main {\n  let x = " + "f(" * 2000 + "a" + ")" * 2000 + "\n}\n"
    result = format_text(text)
    assert result.text is None and result.internal_error is not None


# --------------------------------------------------------------------------- the command


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_fmt_rewrites_files_in_place(tmp_path: Path) -> None:
    messy = tmp_path / "messy.spec"
    messy.write_text("unikernel t\nmain { print( 1 ) }\n", encoding="utf-8")
    messy.chmod(0o640)
    tidy = tmp_path / "tidy.spec"
    tidy.write_text("unikernel t\n\nmain {\n  print(1)\n}\n", encoding="utf-8")
    os.utime(tidy, (1, 1))

    assert run("fmt", "--check", str(messy), str(tidy)) == (1, f"{messy}\n", "")
    assert messy.read_text(encoding="utf-8") == "unikernel t\nmain { print( 1 ) }\n"

    assert run("fmt", str(messy), str(tidy)) == (0, "", "")
    assert messy.read_text(encoding="utf-8") == tidy.read_text(encoding="utf-8")
    assert messy.stat().st_mode & 0o777 == 0o640
    assert tidy.stat().st_mtime == 1  # unchanged files are not written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messy.spec", "tidy.spec"]
    assert run("fmt", "--check", str(messy), str(tidy)) == (0, "", "")


def test_fmt_follows_symbolic_links(tmp_path: Path) -> None:
    real = tmp_path / "real.spec"
    real.write_text("main {print(1)}", encoding="utf-8")
    link = tmp_path / "link.spec"
    link.symlink_to(real)
    assert run("fmt", str(link))[0] == 0
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "main {\n  print(1)\n}\n"


def test_fmt_reports_syntax_errors_and_leaves_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.spec"
    bad.write_text("unikernel t\nmain {\n  let = 3\n}\n", encoding="utf-8")
    good = tmp_path / "good.spec"
    good.write_text("main {print(1)}\n", encoding="utf-8")
    status, out, err = run("fmt", str(bad), str(good), str(tmp_path / "missing.spec"))
    assert status == 1
    assert out == ""
    assert "error[E0001]: unexpected `=`" in err
    assert f"{bad}:3:7" in err
    assert "cannot read" in err and "missing.spec" in err
    assert bad.read_text(encoding="utf-8") == "unikernel t\nmain {\n  let = 3\n}\n"
    assert good.read_text(encoding="utf-8") == "main {\n  print(1)\n}\n"


def test_top_level_vars_keep_their_grouping() -> None:
    same(
        """
        unikernel t
        ## Requests so far.
        var hits:u64=0
        var last = "none"   # the last query

        var started : Duration = 0s
        fn f() { hits += 1 }
        main { f() }
        """,
        """
        unikernel t

        ## Requests so far.
        var hits: u64 = 0
        var last = "none"  # the last query

        var started: Duration = 0s

        fn f() {
          hits += 1
        }

        main {
          f()
        }
        """,
    )
