"""``specc.build``: a spec's path in, an image on disk and a :class:`BuildResult` out.

The whole pipeline of DESIGN.md: check, the middle-end passes, the back end
of the target, the manifest.  (The module is not named ``build``: importing
``specc.build`` would replace the function ``specc.build`` with the module.)  Like :func:`specc.check_file` it never prints,
never exits and keeps no state between calls: problems in the input are
diagnostics in the result, and a failure of specc itself is one E9001
diagnostic.  The command line's ``compile`` and ``run`` only render it.

    result = specc.build("dns.spec", target="unix", output_dir="out")
    if result.ok:
        print(result.image, result.manifest["image"]["sha256"])
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from specc import api
from specc.depfile import depfile_text
from specc.diagnostics import Diagnostic, DiagnosticSink, Note, internal_error
from specc.driver import Compilation, CompileOptions, run_middle_end
from specc.passes import PASSES
from specc.span import SourceFile, Span

# The steps of a build, in order: the passes, then the back end (code
# generation and, for C, compiling and linking) and the manifest.
STEPS = (*PASSES, "emit", "manifest")


class Listener(Protocol):
    """Told as each step starts and ends (the command line's progress and
    ``-v`` timings).  A listener must not raise."""

    def started(self, step: str) -> None: ...

    def finished(self, step: str, seconds: float) -> None: ...


@dataclass(frozen=True)
class BuildResult:
    diagnostics: tuple[Diagnostic, ...]
    # The image's path, `output_dir` joined with its file name; None on errors.
    image: str | None = None
    # manifest.json as a dict ({} when there is no image).
    manifest: dict[str, Any] = field(default_factory=dict)
    # Absolute paths of every file read (the spec, the files it uses, the
    # prelude, a config file, zone files, every file of a `dir(...)`, the
    # runtime sources the image links) and of every directory a `dir(...)`
    # walked.  Empty on errors.
    inputs: tuple[str, ...] = ()
    # A Make rule `IMAGE: INPUTS...` (docs/build-systems.md); "" on errors.
    depfile: str = ""
    # Every source file read, keyed as spans name them (to render diagnostics).
    sources: Mapping[str, SourceFile] = field(default_factory=dict)
    # The middle end's result (None when checking failed or specc did): what
    # `specc run` launches from and the summary line counts.
    compilation: Compilation | None = None
    # (step, seconds) for every step that ran.
    timings: tuple[tuple[str, float], ...] = ()

    @property
    def ok(self) -> bool:
        """No errors (warnings alone do not fail a build)."""
        return not any(d.is_error for d in self.diagnostics)

    @property
    def internal_error(self) -> bool:
        return any(d.code == "E9001" for d in self.diagnostics)


def build(path: str | os.PathLike[str], *, target: str = "hvt", defines: Sequence[str] = (),
          config_file: str | os.PathLike[str] | None = None,
          output_dir: str | os.PathLike[str] | None = None,
          listener: Listener | None = None, specialize: bool = True) -> BuildResult:
    """Check, specialize and build the spec at ``path`` for ``target``.

    ``defines`` are ``NAME=VALUE`` overrides of const keys (as ``-D``), which
    win over the ``[config]`` table of the TOML file ``config_file``.  The
    image and ``manifest.json`` are written to ``output_dir`` (default
    ``out/NAME-TARGET``, relative to the working directory).  A ``target``
    that is not one of ``hvt``, ``unix`` and ``python`` is a ValueError, as
    for :func:`specc.check_file`.  ``specialize=False`` builds the spec
    unspecialized (``--no-specialize``, passes/unspecialize.py).
    """
    if target not in api.TARGETS:
        raise ValueError(f"unknown target {target!r}; the targets are {', '.join(api.TARGETS)}")
    # Paths may be given as pathlib.Path, as build tools do; spans hold text.
    path = os.fspath(path)
    config_file = None if config_file is None else os.fspath(config_file)
    output_dir = None if output_dir is None else os.fspath(output_dir)
    clock = _Clock(listener)
    compilation: Compilation | None = None
    try:
        clock.start("check")
        check = api.check_file(path, target=target)
        clock.stop()
        options = CompileOptions(target, tuple(defines), config_file,
                                 on_pass=clock.after_pass, specialize=specialize)
        if check.program is not None and not check.has_errors:
            clock.start("config")
        compilation = run_middle_end(check, options)
        clock.discard()  # the pass that was started after the last one ran
        if compilation.has_errors or compilation.program is None:
            return _failed(compilation.diagnostics, check.sources, compilation, clock)
        program = compilation.program
        name = program.unikernel.name if program.unikernel else "image"
        directory = output_dir if output_dir is not None else \
            os.path.join("out", f"{name}-{target}")
        clock.start("emit")
        emitted = _emit(compilation, directory)
        clock.stop()
        if isinstance(emitted, Diagnostic):
            return _failed([*compilation.diagnostics, emitted], check.sources, compilation,
                           clock)
        image, runtime_sources = emitted
        clock.start("manifest")
        from specc.manifest import build_manifest, image_report, write_manifest

        manifest = build_manifest(compilation)
        manifest["image"] = image_report(image)
        write_manifest(manifest, directory)
        clock.stop()
    except Exception as error:  # a bug in specc: one diagnostic, never a traceback
        clock.discard()
        sources = compilation.check.sources if compilation is not None else {}
        diagnostics = [*(compilation.diagnostics if compilation is not None else ()),
                       internal_error(error, path)]
        return _failed(diagnostics, sources, compilation, clock)
    inputs = _inputs(compilation, config_file, runtime_sources)
    return BuildResult(tuple(compilation.diagnostics), image, manifest, inputs,
                       depfile_text(image, inputs), compilation.check.sources, compilation,
                       tuple(clock.timings))


def _failed(diagnostics: Sequence[Diagnostic], sources: Mapping[str, SourceFile],
            compilation: Compilation | None, clock: _Clock) -> BuildResult:
    return BuildResult(tuple(diagnostics), sources=sources, compilation=compilation,
                       timings=tuple(clock.timings))


def _inputs(c: Compilation, config_file: str | None,
            runtime_sources: Sequence[str]) -> tuple[str, ...]:
    """Every file and directory the build read, absolute, in a fixed order:
    the spec first (make's `$<`), then what it uses, the prelude, the config
    file, the compile-time data, the directories, the runtime."""
    assert c.program is not None
    paths = [p for p in c.program.sources if not p.startswith("<")]
    if config_file is not None:
        paths.append(config_file)
    paths += [*c.data.files, *c.data.directories, *runtime_sources]
    seen: dict[str, None] = {}
    for p in paths:
        seen.setdefault(os.path.abspath(p), None)
    return tuple(seen)


# ---- the back end --------------------------------------------------------------


def _emit(c: Compilation, directory: str) -> tuple[str, tuple[str, ...]] | Diagnostic:
    """Write the image for ``c`` into ``directory``: its path and the runtime
    sources it links, or the diagnostic of a spec the target cannot build
    (E0701), of a component of the user's own whose implementation does not
    build (E0702), or of a toolchain that failed (E9001)."""
    from specc.backends import BackendError, ImplementationError, emit_image
    from specc.backends.c.build import BuildError

    assert c.program is not None and c.image is not None
    program = c.program
    fallback = program.unikernel.span if program.unikernel else \
        Span(program.root.path, 1, 1, 1, 1, 0, 0)
    try:
        emitted = emit_image(c.image, directory)
    except ImplementationError as error:
        return DiagnosticSink().add("E0702", error.span or fallback, error.message,
                                    notes=[Note(text, span) for text, span in error.notes])
    except BackendError as error:
        return DiagnosticSink().add("E0701", error.span or fallback, error.message)
    except BuildError as error:
        return DiagnosticSink().add("E9001", fallback, f"internal compiler error: building the "
                                    f"{program.target} image failed; please report this bug",
                                    notes=[Note(str(error).rstrip())])
    return emitted.path, _linked_files(emitted.runtime_sources, directory, program.target)


def _linked_files(runtime: Sequence[str], directory: str, target: str) -> tuple[str, ...]:
    """The runtime files of an image, with what the C files `#include`
    (component implementations are included by the generated files), each
    named once by its real path (specc/backends is a link to backends/)."""
    if target == "python":
        return tuple(dict.fromkeys(os.path.realpath(p) for p in runtime))
    import glob

    from specc.backends.c.build import LIB_DIR, PLATFORM_DIR, RUNTIME_DIR
    from specc.depfile import with_includes

    generated = os.path.join(directory, "c")
    search = [str(RUNTIME_DIR), str(RUNTIME_DIR / "dns"), generated, str(PLATFORM_DIR),
              str(LIB_DIR), str(LIB_DIR / "include")]
    sources = [*runtime, *sorted(glob.glob(os.path.join(glob.escape(generated), "*.c")))]
    found = with_includes(sources, search, exclude=generated)
    return tuple(dict.fromkeys(os.path.realpath(p) for p in found))


# ---- timing -------------------------------------------------------------------


class _Clock:
    """Times the steps and tells the listener."""

    def __init__(self, listener: Listener | None) -> None:
        self.listener = listener
        self.timings: list[tuple[str, float]] = []
        self.step: str | None = None
        self.since = 0.0

    def start(self, step: str) -> None:
        self.step, self.since = step, time.perf_counter()
        if self.listener is not None:
            self.listener.started(step)

    def stop(self) -> None:
        if self.step is None:
            return
        seconds = time.perf_counter() - self.since
        self.timings.append((self.step, seconds))
        if self.listener is not None:
            self.listener.finished(self.step, seconds)
        self.step = None

    def discard(self) -> None:
        self.step = None

    def after_pass(self, name: str) -> None:
        """The driver's hook: pass ``name`` ended; the next one starts."""
        if self.step != name:  # a pass we did not see start (stop_after, say)
            self.start(name)
        self.stop()
        following = PASSES.index(name) + 1
        if following < len(PASSES):
            self.start(PASSES[following])
