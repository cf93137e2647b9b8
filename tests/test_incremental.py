"""The language server's incremental re-check gives exactly what a full check
gives: random edit sequences over the examples and bench/lsp.py's generated
1,000-line spec, compared after every edit (the syntax tree, span for span,
with a full parse's; the diagnostics, and every table of the checked
program, with specc.api.check_source's)."""

from __future__ import annotations

import dataclasses
import importlib.util
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from specc import ast
from specc.api import check_source
from specc.check.program import CheckedProgram
from specc.diagnostics import DiagnosticSink
from specc.incremental.check import IncrementalCheck
from specc.incremental.chunks import split
from specc.incremental.parse import IncrementalParser
from specc.incremental.relocate import Relocator
from specc.span import SourceFile, Span
from specc.syntax.parser import parse_module

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.spec"))
# A run over all specs is bounded by count; this only stops a pathologically
# slow machine from holding the suite (the counts below still must be met).
TIME_LIMIT = 60.0


def bench_spec() -> str:
    """bench/lsp.py's generated spec (its module imports bench/machine.py and
    edits sys.path: undone here)."""
    saved = list(sys.path)
    sys.path.append(str(ROOT / "bench"))  # at the back: bench/dns.py must not hide dnspython
    try:
        spec = importlib.util.spec_from_file_location("bench_lsp", ROOT / "bench" / "lsp.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_lsp"] = module
        spec.loader.exec_module(module)
        text: str = module.generate(1000)
        return text
    finally:
        sys.path[:] = saved
        sys.modules.pop("bench_lsp", None)


# ---------------------------------------------------------------------------
# comparing trees


_FIELDS: dict[type, tuple[str, ...]] = {}


def fields_of(v: Any) -> tuple[str, ...] | None:
    """The field names of a node (None for anything else)."""
    kind = type(v)
    names = _FIELDS.get(kind)
    if names is None and kind is not Span and dataclasses.is_dataclass(v):
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(v))
    return names


def same_tree(a: Any, b: Any, where: tuple[object, ...] = ()) -> None:
    """Assert that ``a`` and ``b`` are the same tree: the same node classes,
    fields, spans and values (nodes compare by identity, so == says nothing)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if type(a) is tuple:
        assert len(a) == len(b), f"{where}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same_tree(x, y, (*where, i))
        return
    names = fields_of(a)
    if names is None:
        assert a == b, f"{where}: {a!r} != {b!r}"
        return
    for name in names:
        same_tree(getattr(a, name), getattr(b, name), (*where, name))


def nodes(tree: Any) -> list[Any]:
    """Every node in ``tree``."""
    found: list[Any] = []
    stack = [tree]
    while stack:
        v = stack.pop()
        if type(v) is tuple:
            stack.extend(v)
            continue
        names = fields_of(v)
        if names is not None:
            found.append(v)
            stack.extend(getattr(v, name) for name in names)
    return found


# ---------------------------------------------------------------------------
# random edits

SNIPPETS = ["x", "z", "1", " ", "\n", "{", "}", "(", ")", '"', "#", "## d\n", "+", ".", "=",
            ",", "fn", "var", "let", "\t", "é", "[", "]", "->", ":"]
LINES = ["  let q = 1", "  return s * z", "  return 0", "fn extra() {", "fn extra() {}", "}",
         "var g = 3", "var g: u32 = 3", "## a doc comment", "# a comment", "", "  log.info(\"{q}\")",
         "struct P {", "  a: u32", "enum E { a, b }", "config", "main {", "  if true {",
         "fn helper_0(x: u32) -> u32 { return x }", "  print(\"{x\")", "use \"nowhere.spec\"",
         "var", "fnord", "  var w = 2", "var w = 2   ## trailing doc"]


def edit(text: str, rng: random.Random, history: list[str]) -> str:
    """One random edit of ``text``: characters, lines, whole declarations,
    type and syntax errors made, and (by going back) fixed."""
    kind = rng.randrange(10)
    if kind == 0 and history:  # undo some edits: errors get fixed
        return history[rng.randrange(len(history))]
    if kind <= 2:  # type a few characters
        at = rng.randrange(len(text) + 1)
        return text[:at] + rng.choice(SNIPPETS) + text[at:]
    if kind == 3:  # delete a few characters
        at = rng.randrange(len(text) + 1)
        return text[:at] + text[at + rng.randrange(1, 4):]
    lines = text.split("\n")
    if kind == 4:  # insert a line
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(LINES))
        return "\n".join(lines)
    if kind == 5 and len(lines) > 1:  # delete a line
        del lines[rng.randrange(len(lines))]
        return "\n".join(lines)
    chunks = split(text)
    if kind == 6 and len(chunks) > 1:  # delete, duplicate or move a whole declaration
        pieces = [c.text for c in chunks]
        i = rng.randrange(len(pieces))
        piece = pieces.pop(i)
        action = rng.randrange(3)
        if action == 1:
            pieces.insert(i, piece)
            pieces.insert(i, piece)
        elif action == 2:
            pieces.insert(rng.randrange(len(pieces) + 1), piece)
        return "".join(pieces)
    if kind == 7:  # a type error: a name or number made wrong
        words = [i for i, line in enumerate(lines) if "return" in line or "let" in line]
        if words:
            i = rng.choice(words)
            lines[i] = lines[i].replace("2", '"two"', 1).replace("x", "nope", 1)
            return "\n".join(lines)
    if kind == 8:  # replace one character (the length stays: nothing moves)
        at = rng.randrange(len(text)) if text else 0
        return text[:at] + rng.choice("az19 +{}") + text[at + 1:]
    at = rng.randrange(len(text) + 1)  # add or remove blank lines above declarations
    return text[:at] + "\n" * rng.randrange(1, 3) + text[at:]


@dataclasses.dataclass
class Incremental:
    """One document's incremental state, as the language server keeps it."""

    parser: IncrementalParser = dataclasses.field(default_factory=IncrementalParser)
    check: IncrementalCheck = dataclasses.field(default_factory=IncrementalCheck)


def run_edits(text: str, path: str, count: int, seed: int,
              check: Callable[[str, Incremental], bool]) -> None:
    """``count`` random edits from ``text``, each checked.  A syntax error is
    mostly fixed soon (as an editor's user would), so that the edits explore
    both texts that split well and texts that do not.  ``check`` says whether
    the text has no syntax error."""
    rng = random.Random(seed)
    state = Incremental()
    check(text, state)
    history = [text]
    good = text
    for _ in range(count):
        if text is not good and rng.random() < 0.5:
            text = good
        else:
            text = edit(text, rng, history)
            history.append(text)
        if check(text, state):
            good = text


def compare_parse(path: str, totals: dict[str, int]) -> Callable[[str, Incremental], bool]:
    def check(text: str, state: Incremental) -> bool:
        parser = state.parser
        source = SourceFile(path, text)
        sink = DiagnosticSink()
        incremental = parser.parse(source, sink)
        full_sink = DiagnosticSink()
        full = parse_module(source, full_sink)
        same_tree(incremental, full)
        assert sink.sorted() == full_sink.sorted()
        # Reused trees are never shared with a node elsewhere in the module.
        found = nodes(incremental.decls)
        assert len({id(n) for n in found}) == len(found)
        stats = parser.stats
        totals["full"] += stats.full
        totals["incremental"] += not stats.full
        totals["moved"] += stats.moved
        totals["edits"] += 1
        return not len(full_sink)
    return check


def canon(v: Any, index: dict[int, int]) -> Any:
    """``v`` with every syntax tree node replaced by its place in the walk of
    the program's modules (``index``), so that the tables of two checks of
    the same text (keyed by their own nodes) can be compared; dicts keep
    their order."""
    kind = type(v)
    if id(v) in index:
        return ("node", index[id(v)])
    if kind in (tuple, list):
        return (kind.__name__, tuple(canon(x, index) for x in v))
    if kind is dict:
        return ("dict", tuple((canon(k, index), canon(x, index)) for k, x in v.items()))
    if kind in (set, frozenset):
        return ("set", frozenset(canon(x, index) for x in v))
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return (kind.__name__, tuple(canon(getattr(v, f.name), index)
                                     for f in dataclasses.fields(v)))
    return v


def program_tables(program: CheckedProgram) -> dict[str, Any]:
    modules = (program.root, *program.used, program.prelude)
    index = {id(n): i for i, n in enumerate(nodes(modules))}
    index.update({id(m): -1 - i for i, m in enumerate(modules)})
    return {f.name: canon(getattr(program, f.name), index)
            for f in dataclasses.fields(program)}


def compare_check(path: str, totals: dict[str, int], *, tables_every: int = 1
                  ) -> Callable[[str, Incremental], bool]:
    """Compare after every edit; the tables (slower) after every
    ``tables_every``-th one."""
    def check(text: str, state: Incremental) -> bool:
        incremental = check_source(text, path, parse=state.parser.parse,
                                   make_checker=state.check.checker)
        full = check_source(text, path)
        assert incremental.diagnostics == full.diagnostics, text
        assert incremental.sources == full.sources
        assert (incremental.program is None) == (full.program is None)
        tables = totals["edits"] % tables_every == 0
        if tables and incremental.program is not None and full.program is not None:
            same_tree(incremental.program.root, full.program.root)
            mine, theirs = program_tables(incremental.program), program_tables(full.program)
            for name, value in theirs.items():
                assert mine[name] == value, f"CheckedProgram.{name} differs"
        totals["full"] += state.parser.stats.full
        totals["incremental"] += not state.parser.stats.full
        totals["replayed"] += state.check.stats.replayed
        totals["edits"] += 1
        return not any(d.code.startswith("E00") for d in full.diagnostics)
    return check


SPECS = [(p.name, p.read_text(encoding="utf-8"), str(p)) for p in EXAMPLES]

# Every fact a replayed body must give back: a `var` read only in `reader`
# (else W0002), an impure `twice` called from a constant, directly and through
# `via` (E0301 from the purity facts and the calls), compile-time values and a data call in bodies (E0301 from
# the stage check, E0501 from reading data); `early` and `make` refer to a
# function and a struct declared below `other`, which the edits move.
REPLAY = """\
## What replaying a function body's check must keep.
unikernel replay "incremental checking"

config {
  const port: u16 = 7
  const n: u32 = twice(3)
  const m: u32 = via(3)
}

devices {
  ip = host_ip()
  udp4 = udp(ip)
  log = console_log(LogLevel.info)
}

var count: u64 = 0

fn twice(x: u32) -> u32 {
  count = 1
  return x * 2
}

fn via(x: u32) -> u32 {
  return twice(x)
}

fn reader() -> u64 {
  return count
}

fn zone_size(path: string) -> u32 {
  let z = zonefile(path)
  return z.records
}

fn fixed_zone() -> u32 {
  return zonefile("zones/missing.zone").records
}

fn early() -> u32 {
  return late(1)
}

fn make() -> u32 {
  let p = P { a: 2 }
  return p.a
}

fn other(x: u32) -> u32 {
  return x + 1
}

fn answer(d: Datagram) -> bytes? {
  let size = zone_size("a")
  log.info("{reader()} {other(2)} {size} {fixed_zone()}")
  return some(d.payload)
}

main {
  udp4.listen(config.port, answer)
}

fn late(x: u32) -> u32 {
  return x + early() + make()
}

struct P {
  a: u32
}
"""


@pytest.mark.parametrize("name,text,path", SPECS, ids=[s[0] for s in SPECS])
def test_random_edits_parse_as_a_full_parse(name: str, text: str, path: str) -> None:
    totals = {"full": 0, "incremental": 0, "moved": 0, "edits": 0}
    started = time.monotonic()
    for seed in range(2):
        run_edits(text, path, 25, seed, compare_parse(path, totals))
        if time.monotonic() - started > TIME_LIMIT:
            break
    assert totals["edits"] >= 2 * 26
    # The test means something only if both ways of parsing ran.
    assert totals["incremental"] > totals["edits"] // 5, totals
    assert totals["full"] > 0 and totals["moved"] > 0, totals


CHECKED = [*SPECS, ("replay", REPLAY, "/nonexistent-specc-test/replay.spec")]


@pytest.mark.parametrize("name,text,path", CHECKED, ids=[s[0] for s in CHECKED])
def test_random_edits_check_as_a_full_check(name: str, text: str, path: str) -> None:
    totals = {"full": 0, "incremental": 0, "replayed": 0, "edits": 0}
    for seed in range(2):
        run_edits(text, path, 12, 100 + seed, compare_check(path, totals, tables_every=3))
    assert totals["incremental"] > 0 and totals["full"] > 0, totals
    if "fn " in text:
        assert totals["replayed"] > 0, totals


def test_random_edits_of_the_bench_spec(tmp_path: Path) -> None:
    text = bench_spec()
    path = str(tmp_path / "bench.spec")
    parse_totals = {"full": 0, "incremental": 0, "moved": 0, "edits": 0}
    run_edits(text, path, 10, 7, compare_parse(path, parse_totals))
    assert parse_totals["incremental"] > 5 and parse_totals["moved"] > 100, parse_totals
    check_totals = {"full": 0, "incremental": 0, "replayed": 0, "edits": 0}
    run_edits(text, path, 4, 8, compare_check(path, check_totals, tables_every=2))
    assert check_totals["incremental"] > 1, check_totals


def test_an_edit_rechecks_only_its_function(tmp_path: Path) -> None:
    path = str(tmp_path / "replay.spec")
    totals = {"full": 0, "incremental": 0, "replayed": 0, "edits": 0}
    check = compare_check(path, totals)
    state = Incremental()
    texts = [REPLAY, REPLAY.replace("x + 1", "x + 2"), REPLAY.replace("x + 1", "x + z"),
             REPLAY.replace("x + 1", "x + 2"), REPLAY.replace("x + 1", "x +  1"),
             REPLAY.replace("x + 1", "x + 1\n")]
    replayed = []
    for text in texts:
        check(text, state)
        replayed.append((state.check.stats.replayed, state.check.stats.checked))
    # Opened: everything checked.  The same length: only `other` again.
    # Longer: `answer` and `late`, below it, have moved, and `early` and
    # `make` refer to what moved: checked again too.
    assert replayed[0] == (0, 10)
    assert replayed[1:4] == [(9, 1)] * 3
    assert replayed[4] == (5, 5) and replayed[5] == (5, 5)


def test_an_edit_reparses_only_its_declaration() -> None:
    text = bench_spec()
    parser = IncrementalParser()
    path = "/b.spec"
    first = parser.parse(SourceFile(path, text), DiagnosticSink())
    assert parser.stats.full  # on open: one parse of the whole
    # The same length: nothing moves, every other declaration is the same object.
    edited = text.replace("return s * 2", "return s * z", 1)
    second = parser.parse(SourceFile(path, edited), DiagnosticSink())
    assert (parser.stats.parsed, parser.stats.moved, parser.stats.full) == (1, 0, False)
    changed = [i for i, (a, b) in enumerate(zip(first.decls, second.decls, strict=True))
               if a is not b]
    assert len(changed) == 1
    # A line added: the declarations below are moved copies, a line down.
    third = parser.parse(SourceFile(path, edited.replace("return s * z", "\nreturn s * 2", 1)),
                         DiagnosticSink())
    assert parser.stats.parsed == 1 and parser.stats.moved > 100 and not parser.stats.full
    last_before, last_after = second.decls[-1], third.decls[-1]
    assert last_after is not last_before
    assert last_after.span.line == last_before.span.line + 1
    assert last_after.span.start == last_before.span.start + 1


def test_a_doc_comment_after_a_declaration_documents_the_next() -> None:
    # `##` at the end of the line that ends a piece documents the next
    # declaration; the split cannot see it, so the whole text is parsed.
    text = "unikernel d\nvar a = 1 ## for b\nvar b = 2\nmain {\n  print(\"{a}{b}\")\n}\n"
    parser = IncrementalParser()
    parser.parse(SourceFile("/d.spec", text), DiagnosticSink())
    module = parser.parse(SourceFile("/d.spec", text + "\n"), DiagnosticSink())
    assert parser.stats.full
    b = module.decls[2]
    assert isinstance(b, ast.VarDecl) and b.doc == "for b"
    same_tree(module, parse_module(SourceFile("/d.spec", text + "\n"), DiagnosticSink()))


def test_relocation_moves_every_span() -> None:
    text = SPECS[0][1]
    module = parse_module(SourceFile("/x.spec", text), DiagnosticSink())
    moved = Relocator(3, 40).decls(module.decls)
    originals = [n for n in nodes(module.decls)]
    copies = [n for n in nodes(moved)]
    assert len(originals) == len(copies)
    assert not {id(n) for n in originals} & {id(n) for n in copies}
    for a, b in zip(originals, copies, strict=True):
        for name in fields_of(a) or ():
            x, y = getattr(a, name), getattr(b, name)
            if isinstance(x, Span):
                assert (y.line, y.end_line, y.start, y.end, y.column) == \
                    (x.line + 3, x.end_line + 3, x.start + 40, x.end + 40, x.column)


def test_a_string_across_a_line_break() -> None:
    # A backslash before a newline inside a string (an error today, and one
    # whose tokens after it count lines differently): the pieces after it
    # must still be what a full parse gives.
    text = ('unikernel b\nvar s: string = "a\\\nb"\nfn f() -> u32 {\n  return 1\n}\n'
            'main {\n  print("{s}{f()}")\n}\n')
    totals = {"full": 0, "incremental": 0, "moved": 0, "edits": 0}
    check = compare_parse("/b.spec", totals)
    state = Incremental()
    for edited in (text, text.replace("return 1", "return 2"), text.replace("a\\\nb", "ab")):
        check(edited, state)
    assert totals["edits"] == 3


def test_a_used_file_that_changes_is_seen(tmp_path: Path) -> None:
    # The application's text stays the same (every piece and body could be
    # reused); the file it uses changes under it, as an editor's unsaved
    # buffer: what the bodies see changed, so they are checked again.
    lib = str(tmp_path / "lib.spec")
    app = str(tmp_path / "app.spec")
    app_text = ('unikernel app\nuse "lib.spec"\n\nfn twice(x: u32) -> u32 {\n'
                '  return double(x) * 2\n}\n\nmain {\n  print("{twice(2)}")\n}\n')
    versions = ["fn double(x: u32) -> u32 {\n  return x * 2\n}\n",
                "fn double(x: u32) -> string {\n  return \"x\"\n}\n",
                "fn triple(x: u32) -> u32 {\n  return x * 3\n}\n",
                "fn double(x: u32) -> u32 {\n  return x * 2\n}\n"]
    state = Incremental()
    codes = []
    for version in versions:
        incremental = check_source(app_text, app, overlays={lib: version},
                                   parse=state.parser.parse, make_checker=state.check.checker)
        full = check_source(app_text, app, overlays={lib: version})
        assert incremental.diagnostics == full.diagnostics
        codes.append(sorted({d.code for d in full.diagnostics}))
    assert codes[0] == [] and codes[1] and codes[2] and codes[3] == []


def test_the_workspace_publishes_what_a_full_check_gives(tmp_path: Path) -> None:
    # The language server's own path: Workspace.change with the incremental
    # state of each document, against check_source on the same text.
    from specc.lsp.convert import path_to_uri
    from specc.lsp.workspace import Workspace

    published: list[tuple[str, list[str]]] = []
    ws = Workspace(lambda uri, version, diagnostics, sources:
                   published.append((uri, [d.message for d in diagnostics])), lambda m: None)
    path = str(tmp_path / "inventory.spec")
    text = next(t for n, t, _ in SPECS if n == "inventory.spec")
    uri = path_to_uri(path)
    ws.open(uri, text, 1)
    rng = random.Random(5)
    history = [text]
    for version in range(2, 14):
        text = edit(text, rng, history)
        history.append(text)
        ws.change(uri, text, version)  # no event loop: checked at once
        full = check_source(text, path)
        assert published[-1] == (uri, [d.message for d in full.diagnostics])
