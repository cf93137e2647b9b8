"""The front end never crashes, whatever text it is given.

Property tests (hypothesis) feed :func:`specc.api.check_source` three kinds of
hostile input:

- random sequences of the language's tokens (LANGUAGE.md section 2), joined
  by spaces and newlines, sometimes wrapped in a ``main``/``fn``/``config``
  body so that the checker, not only the parser, sees them;
- random programs: declarations, statements and expressions put together
  from a small grammar with random names, types and literals, so the
  resolver and the type checker see mostly well-formed but ill-typed code;
- random mutations (span deletions, duplications and swaps, inserted
  characters) of the example specs and of the prelude.

For every input, ``check_source`` must return (no exception), report no
internal error (E9001), and give every diagnostic, note and fix a span that
lies inside the text of its file, with a line and column that agree with its
offset (a span that ends just after a newline may give its end either as
the next line's column 1 or as the column after the newline).  A failing
example is printed in full in the assertion message.

The runs are derandomized (fixed seed, no example database) so CI is
reproducible; known crashes found by these tests live as ``xfail(strict)``
regression cases at the end of the file, so the properties keep searching
fresh inputs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specc.api import CheckResult, check_source
from specc.span import Span

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.spec"))
PRELUDE = ROOT / "specc" / "prelude" / "prelude.spec"

# SPECC_ROBUST_EXAMPLES=5000 SPECC_ROBUST_RANDOM=1 pytest tests/test_robustness.py
# hunts harder (every property gets that many examples, with fresh randomness)
# than the CI default, which keeps this file around 15 s.
_EXAMPLES = os.environ.get("SPECC_ROBUST_EXAMPLES")


def property_settings(examples: int) -> settings:
    return settings(
        max_examples=int(_EXAMPLES) if _EXAMPLES else examples,
        deadline=None,
        derandomize=os.environ.get("SPECC_ROBUST_RANDOM", "") != "1",
        database=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --------------------------------------------------------------------------
# Assertions shared by every test


def _expected_position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset``, computed independently of specc."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _span_problem(result: CheckResult, span: Span) -> str | None:
    source = result.sources.get(span.file)
    if source is None:
        return f"span in unknown file {span.file!r} (known: {sorted(result.sources)})"
    text = source.text
    if not 0 <= span.start <= span.end <= len(text):
        return f"span offsets {span.start}..{span.end} outside 0..{len(text)}"
    if (span.line, span.column) != _expected_position(text, span.start):
        return (
            f"start {span.line}:{span.column} does not match offset {span.start} "
            f"(expected {_expected_position(text, span.start)})"
        )
    end = (span.end_line, span.end_column)
    expected_end = _expected_position(text, span.end)
    # A span that ends with a newline may give its end either as the start of
    # the next line or as the column just after the newline on its own line
    # (the parser's tokens do the latter); both name the same offset.
    if span.end > span.start and text[span.end - 1] == "\n":
        line, column = _expected_position(text, span.end - 1)
        if end == (line, column + 1):
            return None
    if end != expected_end:
        return (
            f"end {span.end_line}:{span.end_column} does not match offset {span.end} "
            f"(expected {expected_end})"
        )
    return None


def assert_robust(text: str, path: str, *, target: str = "hvt") -> CheckResult:
    """Check ``text`` and assert the front end behaved; the message shows the input."""
    try:
        result = check_source(text, path, target=target)
    except Exception as error:  # pragma: no cover - only on a bug
        raise AssertionError(
            f"check_source raised {type(error).__name__}: {error}\n--- input ---\n{text!r}"
        ) from error
    internal = [d for d in result.diagnostics if d.code == "E9001"]
    assert not internal, (
        "internal compiler error:\n"
        + "\n".join(f"  {d.span}: {d.message} {[n.message for n in d.notes]}" for d in internal)
        + f"\n--- input ---\n{text!r}"
    )
    for d in result.diagnostics:
        spans = [("primary", d.span)]
        spans += [("note", n.span) for n in d.notes if n.span is not None]
        if d.fix is not None:
            spans.append(("fix", d.fix[0]))
        for kind, span in spans:
            problem = _span_problem(result, span)
            assert problem is None, (
                f"{d.code} {d.message!r}: bad {kind} span {span!r}: {problem}"
                f"\n--- input ---\n{text!r}"
            )
    return result


@pytest.fixture(scope="module")
def scratch_dir() -> Iterator[Path]:
    """An empty directory for token inputs, so `use`/`dir`/`zonefile` find nothing big."""
    with tempfile.TemporaryDirectory(prefix="specc-robust-") as name:
        yield Path(name)


# --------------------------------------------------------------------------
# Random token sequences


def words(text: str) -> list[str]:
    return text.split()


KEYWORDS = words(
    "unikernel use enum struct config const param requires devices interface component impl "
    "targets drop when fn main let var if then else match while for in return break continue "
    "and or not as true false none some target"
)

PUNCTUATION = words(
    "( ) { } [ ] , : ; . = == != < <= > >= + - * / % | ^ & << >> ?? ? -> => .. += -= *="
)

# Names a spec is likely to mention: prelude types, components, builtins, fields.
KNOWN_NAMES = words(
    "x y i xs d p it log udp4 ip db bool u8 u16 u32 u64 i64 string bytes Ipv4 Cidr Duration "
    "Size Zone Files Target LogLevel Datagram Conn Udp Tcp Log hvt unix python info debug len "
    "min max utf8 print exit now zonefile dir udp tcp host_ip console_log timer payload src "
    "port listen c"
)

names = st.one_of(
    st.sampled_from(KNOWN_NAMES),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True),
)

integers = st.one_of(
    st.integers(min_value=0, max_value=2**70).map(str),
    st.integers(min_value=0, max_value=2**66).map(hex),
    st.integers(min_value=0, max_value=2**10).map(bin),
    st.sampled_from(["1_000_000", "0", "00", "0x", "0b", "0b2", "1_", "0xFF_FF", "18446744073709551616"]),
)

durations = st.builds(
    "{}{}".format, st.integers(0, 10**6), st.sampled_from(["ms", "s", "m", "h", "us", "ns"])
)
sizes = st.builds(
    "{}{}".format, st.integers(0, 10**6), st.sampled_from(["B", "KiB", "MiB", "GiB"])
)
octets = st.integers(0, 300)
ipv4s = st.builds("{}.{}.{}.{}".format, octets, octets, octets, octets)
cidrs = st.builds("{}/{}".format, ipv4s, st.integers(0, 40))

string_pieces = st.one_of(
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters='"\\{}\n'),
        max_size=5,
    ),
    st.sampled_from(
        [r"\n", r"\t", r"\\", r"\"", r"\u{1F600}", r"\u{110000}", r"\u{}", r"\q", "{{", "}}",
         "{x}", "{config.port}", "{len(xs)}", "{", "}", "{ }", "{\"in\"}", "é", "\t"]
    ),
)
strings = st.builds(lambda parts: '"' + "".join(parts) + '"', st.lists(string_pieces, max_size=4))
bytes_literals = st.builds(
    lambda parts: 'b"' + "".join(parts) + '"',
    st.lists(
        st.one_of(
            st.sampled_from([r"\x00", r"\xff", r"\xZZ", r"\x4", "s:", r"\n", "abc", "é", "{x}"]),
            st.text(alphabet="abc 01", max_size=3),
        ),
        max_size=4,
    ),
)

comments = st.one_of(
    st.builds(lambda s: "# " + s + "\n", st.text(alphabet="abc {}\"", max_size=8)),
    st.builds(lambda s: "## " + s + "\n", st.text(alphabet="abc {}\"", max_size=8)),
)

tokens = st.one_of(
    st.sampled_from(KEYWORDS),
    st.sampled_from(PUNCTUATION),
    names,
    integers,
    durations,
    sizes,
    ipv4s,
    cidrs,
    strings,
    bytes_literals,
    comments,
    st.just("\n"),
)
separators = st.sampled_from([" ", " ", " ", "\n", "", "\t", " \n  "])

# Wrappers put the tokens where the checker (not only the parser) looks at them.
WRAPPERS = (
    "{}",
    "unikernel t\n{}",
    "unikernel t\nmain {{\n{}\n}}\n",
    "unikernel t\nfn f(x: u16, xs: [u8], d: Datagram) -> u64 {{\n{}\n}}\nmain {{ }}\n",
    "unikernel t\nconfig {{\n  const port: u16 = 1\n{}\n}}\nmain {{ }}\n",
    "unikernel t\ndevices {{\n  log = console_log()\n{}\n}}\nmain {{ }}\n",
    "unikernel t\nmain {{\n  let v = {}\n}}\n",
    "unikernel t\nenum E {{ a, b }}\nstruct S {{ a: u8, e: E }}\n"
    "fn g(s: S) -> u8 {{\n  return match s.e {{\n{}\n  }}\n}}\nmain {{ }}\n",
)


@st.composite
def token_programs(draw: st.DrawFn) -> str:
    parts = draw(st.lists(tokens, max_size=40))
    body = ""
    for part in parts:
        body += part + draw(separators)
    return draw(st.sampled_from(WRAPPERS)).format(body)


@property_settings(400)
@given(text=token_programs(), target=st.sampled_from(["hvt", "unix", "python"]))
def test_random_tokens_never_crash(scratch_dir: Path, text: str, target: str) -> None:
    assert_robust(text, str(scratch_dir / "tokens.spec"), target=target)


# --------------------------------------------------------------------------
# Random well-formed-ish programs: syntactically plausible code with random
# types and names, so the resolver and type checker see far more than the
# parser's error recovery does.

TYPE_NAMES = words(
    "bool u8 u16 u32 u64 i64 string bytes Ipv4 Cidr Duration Size Zone Files Target LogLevel "
    "Datagram Conn Udp Log E S Nope"
)

def _type_extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def fn_type(params: list[str], result: str) -> str:
        return f"fn({', '.join(params)})" + (f" -> {result}" if result else "")

    return st.one_of(
        inner.map("[{}]".format),
        inner.map("{}?".format),
        st.builds(fn_type, st.lists(inner, max_size=2), st.one_of(st.just(""), inner)),
    )


types: st.SearchStrategy[str] = st.recursive(
    st.sampled_from(TYPE_NAMES), _type_extend, max_leaves=3
)

EXPR_NAMES = words(
    "x xs d s e v it n config.port config.level config.gw config.rate config.nope target "
    "LogLevel.info LogLevel.nope Target.hvt E.a E.b E.c log udp4 timers f g h nope len min max "
    "utf8 print exit now zonefile dir some none true false"
)

BINARY_OPS = words(
    "?? or and == != < <= > >= | ^ & << >> + - * / %"
)

literal_exprs = st.one_of(
    integers, durations, sizes, ipv4s, cidrs, strings, bytes_literals,
    st.sampled_from(["true", "false", "none", "0", "255", "65536", "-1"]),
)


def _expr_extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    args = st.lists(
        st.one_of(inner, st.builds("{} = {}".format, st.sampled_from(["a", "e", "level"]), inner)),
        max_size=3,
    ).map(", ".join)
    patterns = st.one_of(
        st.sampled_from(["_", "none", "E.a", "E.b", "E.c", "LogLevel.debug", "Target.unix",
                         "some(_)", "some(v)", "some(E.a)", "0", "1", '"a"', "true", "v", "x + 1"]),
        literal_exprs,
    )
    arms = st.lists(
        st.builds("{} => {}".format, st.lists(patterns, min_size=1, max_size=2).map(" | ".join), inner),
        max_size=4,
    ).map(lambda xs: "\n".join(xs))
    # Operands of unary, postfix and `as` are parenthesized (mostly) so the
    # programs parse and the checker sees them.
    atom = st.one_of(inner.map("({})".format), st.sampled_from(EXPR_NAMES))
    return st.one_of(
        st.builds("{} {} {}".format, inner, st.sampled_from(BINARY_OPS), inner),
        st.builds("{} {} {}".format, atom, st.sampled_from(BINARY_OPS), atom),
        st.builds("{}{}".format, st.sampled_from(["-", "not ", "- -"]), atom),
        st.builds("{} as {}".format, atom, types),
        st.builds("{}({})".format, st.sampled_from(EXPR_NAMES), args),
        st.builds("{}.{}({})".format, atom, st.sampled_from(["info", "listen", "every", "send",
                                                            "a", "origin", "nope"]), args),
        st.builds("{}.{}".format, atom, st.sampled_from(["a", "e", "payload", "src", "origin",
                                                        "records", "port", "nope", "0"])),
        st.builds("{}[{}]".format, atom, inner),
        st.builds("{}[{}:{}]".format, atom, inner, inner),
        st.builds("if {} then {} else {}".format, inner, inner, inner),
        st.builds("match {} {{\n{}\n}}".format, atom, arms),
        st.builds(
            "{} {{ {} }}".format,
            st.sampled_from(["S", "E", "Datagram", "Nope", "x"]),
            st.lists(st.builds("{}: {}".format, st.sampled_from(["a", "e", "b", "src"]), inner),
                     max_size=3).map(", ".join),
        ),
        st.builds("[{}]".format, st.lists(inner, max_size=3).map(", ".join)),
        st.builds("some({})".format, inner),
        st.builds("({})".format, inner),
        st.builds('"{{{}}}"'.format, inner),
    )


expressions: st.SearchStrategy[str] = st.recursive(
    st.one_of(st.sampled_from(EXPR_NAMES), literal_exprs), _expr_extend, max_leaves=8
)

# Where a `{` opens a block, a struct literal must be in parentheses.
conditions = st.one_of(st.sampled_from(EXPR_NAMES), expressions.map("({})".format))
binders = st.sampled_from(["x", "y", "v", "n", "s", "xs", "_", "f", "log", "E", "len"])
type_annotations = st.one_of(st.just(""), types.map(lambda t: f": {t}"))


def _stmt_extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    block = st.lists(inner, max_size=3).map(lambda xs: "{\n" + "\n".join(xs) + "\n}")
    return st.one_of(
        st.builds("if {} {}".format, conditions, block),
        st.builds("if {} {} else {}".format, conditions, block, block),
        st.builds("if let {} = {} {} else {}".format, binders, conditions, block, block),
        st.builds("while {} {}".format, conditions, block),
        st.builds("for {} in {} {}".format, binders, conditions, block),
        st.builds("for {} in {}..{} {}".format, binders, conditions, conditions, block),
        st.builds(
            "match {} {{\n{}\n}}".format,
            conditions,
            st.lists(st.builds("{} => {}".format, st.sampled_from(
                ["_", "none", "some(v)", "E.a", "E.b | E.c", "0", "LogLevel.info"]), inner),
                max_size=3).map("\n".join),
        ),
    )


simple_statements = st.one_of(
    st.builds("let {}{} = {}".format, binders, type_annotations, expressions),
    st.builds("var {}{} = {}".format, binders, type_annotations, expressions),
    st.builds("{} {} {}".format, st.sampled_from(["x", "y", "v", "config.port", "xs[0]", "s.a",
                                                   "f", "E.a"]),
              st.sampled_from(["=", "+=", "-=", "*="]), expressions),
    st.builds("return {}".format, st.one_of(st.just(""), expressions)),
    st.sampled_from(["break", "continue", "return", "log.info(\"hi\")", "udp4.listen(7, h)"]),
    expressions,
)
statements: st.SearchStrategy[str] = st.recursive(simple_statements, _stmt_extend, max_leaves=6)
bodies = st.lists(statements, max_size=6).map(lambda xs: "\n".join(xs))

config_items = st.builds(
    "{} {}: {} = {}{}".format,
    st.sampled_from(["const", "param"]),
    st.sampled_from(["port", "level", "gw", "rate", "zone", "files", "port"]),
    types,
    expressions,
    st.one_of(st.just(""), expressions.map(lambda e: f" requires {e}")),
)
device_items = st.builds(
    "{} = {}".format,
    st.sampled_from(["log", "udp4", "timers", "ip", "_spare", "db"]),
    st.one_of(
        st.sampled_from([
            "console_log(config.level)", "udp(ip)", "timer()", "host_ip()", "udp4",
            "static_ipv4(ethernet(virtio_net()), 10.0.0.2/24)", "dns_zone(config.zone)",
            "match target { Target.hvt => host_ip()\n _ => host_ip() }", "console_log(level = 3)",
        ]),
        expressions,
    ),
)
params = st.lists(
    st.builds("{}: {}".format, st.sampled_from(["x", "y", "d", "s", "xs", "x"]), types),
    max_size=3,
).map(", ".join)
functions = st.builds(
    "fn {}({}){} {{\n{}\n}}".format,
    st.sampled_from(["f", "g", "h", "f", "main_", "len"]),
    params,
    st.one_of(st.just(""), types.map(lambda t: f" -> {t}")),
    bodies,
)


@st.composite
def structured_programs(draw: st.DrawFn) -> str:
    parts = ["unikernel t"]
    parts.append("enum E { a, b, c }")
    parts.append(draw(st.sampled_from(["struct S { a: u8, e: E }", "struct S { a: S? }",
                                       "struct S { a: [S], e: E? }"])))
    parts.append("config {\n" + "\n".join(draw(st.lists(config_items, max_size=4))) + "\n}")
    parts.append("devices {\n" + "\n".join(draw(st.lists(device_items, max_size=4))) + "\n}")
    parts.extend(draw(st.lists(functions, max_size=3)))
    parts.append("main {\n" + draw(bodies) + "\n}")
    order = draw(st.permutations(range(1, len(parts))))
    return "\n".join([parts[0]] + [parts[i] for i in order]) + "\n"


@property_settings(150)
@given(text=structured_programs(), target=st.sampled_from(["hvt", "unix", "python"]))
def test_random_programs_never_crash(scratch_dir: Path, text: str, target: str) -> None:
    assert_robust(text, str(scratch_dir / "program.spec"), target=target)


# --------------------------------------------------------------------------
# Mutations of real specs


def _bases() -> list[tuple[str, str]]:
    """(path, text) of each example, and the prelude as an application file."""
    bases = [(str(path), path.read_text(encoding="utf-8")) for path in EXAMPLES]
    # The prelude is a library file; give it a unikernel line and a main so it
    # is checked as an application.  Its path is a sibling of the examples so
    # relative `impl` paths resolve against nothing surprising.
    prelude = "unikernel prelude_app\n" + PRELUDE.read_text(encoding="utf-8") + "\nmain { }\n"
    bases.append((str(ROOT / "examples" / "prelude_app.spec"), prelude))
    return bases


BASES = _bases()

inserted_text = st.one_of(
    st.sampled_from(['"', "{", "}", "\t", "\n", "(", ")", "[", "]", "#", "##", "\\", "é",
                     "\U0001f600", "\u200b", "\r", "\x00", ",", ";", "=", "?", "..", " ",
                     "b\"", "{x}", "then", "else", "if", "match", "none", "some(", "->"]),
    st.text(max_size=3),
)


def _span(draw: st.DrawFn, length: int, max_width: int = 40) -> tuple[int, int]:
    start = draw(st.integers(0, length))
    end = draw(st.integers(start, min(length, start + max_width)))
    return start, end


@st.composite
def mutated_specs(draw: st.DrawFn) -> tuple[str, str]:
    path, text = draw(st.sampled_from(BASES))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "insert"]))
        n = len(text)
        if op == "delete":
            start, end = _span(draw, n)
            text = text[:start] + text[end:]
        elif op == "duplicate":
            start, end = _span(draw, n)
            at = draw(st.integers(0, n))
            text = text[:at] + text[start:end] + text[at:]
        elif op == "swap":
            a0, a1 = _span(draw, n)
            b0 = draw(st.integers(a1, n))
            b1 = draw(st.integers(b0, min(n, b0 + 40)))
            text = text[:a0] + text[b0:b1] + text[a1:b0] + text[a0:a1] + text[b1:]
        else:
            at = draw(st.integers(0, n))
            text = text[:at] + draw(inserted_text) + text[at:]
    return path, text


@property_settings(400)
@given(case=mutated_specs())
def test_mutated_specs_never_crash(case: tuple[str, str]) -> None:
    path, text = case
    assert_robust(text, path)


@pytest.mark.parametrize("path, text", BASES, ids=[Path(p).name for p, _ in BASES])
def test_unmutated_bases_are_clean(path: str, text: str) -> None:
    """The starting points themselves check without internal errors."""
    assert_robust(text, path)


# --------------------------------------------------------------------------
# Known crashes found by the properties above (fixed inputs; strict xfail so
# a fix shows up as XPASS and the case can be turned into a plain test).

KNOWN_CRASHES: list[tuple[str, str]] = []


@pytest.mark.parametrize(
    "text",
    [pytest.param(text, marks=pytest.mark.xfail(strict=True, reason=reason))
     for text, reason in KNOWN_CRASHES] or [pytest.param("", marks=pytest.mark.skip("none known"))],
)
def test_known_crash_regressions(scratch_dir: Path, text: str) -> None:
    assert_robust(text, str(scratch_dir / "regression.spec"))
