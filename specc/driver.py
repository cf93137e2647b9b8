"""The pipeline after checking: config, devices, fold, dce, image (DESIGN.md).

Each pass is one function in `specc.passes`; this module runs them in order
and stops at the first pass that reports an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from specc.api import CheckResult, check_file
from specc.check.program import CheckedProgram
from specc.diagnostics import Diagnostic, DiagnosticSink
from specc.evaluate.data import DataLog
from specc.passes import DUMP_PASSES, PASSES  # noqa: F401  (re-exported)
from specc.passes.branches import BranchLog
from specc.passes.config import ConfigValues, run_config
from specc.passes.dce import Reachable, run_dce, warn_unused_devices
from specc.passes.devices import DeviceGraph, run_devices
from specc.passes.fold import Folded, run_fold
from specc.passes.image import Image, run_image, unbuildable
from specc.passes.unspecialize import (
    Linking,
    Plan,
    keep_everything,
    link_unbuilt_components,
    plan,
    read_at_boot,
    unbuildable_devices,
    unbuildable_reached,
)
from specc.stack import with_headroom


@dataclass
class CompileOptions:
    target: str = "hvt"
    defines: Sequence[str] = ()
    config_file: str | None = None
    stop_after: str | None = None
    # False: --no-specialize (passes/unspecialize.py), for bench/size.py.
    specialize: bool = True
    # Called with a pass's name when it ends (specc.build times the passes).
    on_pass: Callable[[str], None] | None = field(default=None, compare=False)


@dataclass
class Compilation:
    """Everything the middle end knows about one image."""

    options: CompileOptions
    check: CheckResult
    program: CheckedProgram | None = None
    config: ConfigValues | None = None
    graph: DeviceGraph | None = None
    folded: Folded | None = None
    reachable: Reachable | None = None
    image: Image | None = None  # what the back ends build from
    branches: BranchLog = field(default_factory=BranchLog)
    data: DataLog = field(default_factory=DataLog)  # files compile-time data came from
    diagnostics: list[Diagnostic] = field(default_factory=list)
    last_pass: str = "check"
    unspecialized: Plan | None = None  # --no-specialize: the keys read at boot, and why not others

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)


def compile_file(path: str, options: CompileOptions) -> Compilation:
    return run_middle_end(check_file(path, target=options.target), options)


@with_headroom  # config, fold, dce and image walk expressions recursively
def run_middle_end(check: CheckResult, options: CompileOptions) -> Compilation:
    """The passes after checking, on an already checked program (the language
    server checks once and evaluates on demand)."""
    result = Compilation(options, check, check.program, diagnostics=list(check.diagnostics))
    program = check.program
    if program is None or check.has_errors or options.stop_after == "check":
        return result
    sink = DiagnosticSink()
    result.branches.texts = {p: s.text for p, s in program.sources.items()}
    try:
        result.config = run_config(program, options.defines, options.config_file, sink,
                                   result.data)
        if _stop(result, sink, "config"):
            return result
        result.graph = run_devices(program, result.config, sink, result.branches, result.data)
        if _stop(result, sink, "devices"):
            return result
        linked_only: frozenset[str] = frozenset()
        linking = Linking()
        if not options.specialize:
            graph = result.graph
            if program.target in ("hvt", "unix"):  # C: linked, never started
                linking = link_unbuilt_components(program, result.config, graph)
                linked_only = frozenset(linking.linked)
            result.unspecialized = plan(program, result.config,
                                        unbuildable_reached(program, result.config, graph))
            result.unspecialized.linked = linking.linked
            result.unspecialized.not_linked = linking.not_linked
            result.config = read_at_boot(result.config, result.unspecialized.boot)
        unbuildable_now = frozenset() if options.specialize else \
            unbuildable_devices(program, result.graph)
        result.folded = run_fold(program, result.config, result.graph, result.branches, sink,
                                 options.specialize, unbuildable_now)
        if _stop(result, sink, "fold"):
            return result
        # Unspecialized, DCE's W0003 waits for keep_everything: a device nothing
        # uses is built all the same, and its warning must say so.
        result.reachable = run_dce(program, result.graph, result.folded, result.branches, sink,
                                   warn=options.specialize)
        if not options.specialize:
            graph = result.graph
            dead = result.reachable
            result.reachable = keep_everything(
                program, graph, result.folded, dead,
                lambda key: unbuildable(program, graph, key) is None)
            warn_unused_devices(dead.removed, sink, built=frozenset(result.reachable.devices))
        if _stop(result, sink, "dce"):
            return result
        boot = frozenset(result.unspecialized.boot) if result.unspecialized else frozenset()
        result.image = run_image(program, result.config, result.graph, result.folded,
                                 result.reachable, sink, specialized=options.specialize,
                                 boot_consts=boot, linked_only=linked_only,
                                 prepared=linking.data)
        _stop(result, sink, "image")
    finally:
        result.check.sources.update(program.sources)
        result.check.sources.update(result.data.sources)  # zone files, for their carets
    return result


def _stop(result: Compilation, sink: DiagnosticSink, name: str) -> bool:
    result.last_pass = name
    if result.options.on_pass is not None:
        result.options.on_pass(name)
    result.diagnostics.extend(sink.sorted())
    sink.items.clear()
    return result.has_errors or result.options.stop_after == name
