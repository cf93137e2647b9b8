"""Building a spec for each target and running the image to its end: what
the cross-target tests (tests/test_c_language.py, tests/test_differential.py)
and bench/differential.py share.

An image "runs" here when it stops by itself (main returns with nothing
registered, `exit`, or a trap).  Its result is the console text (standard
output then standard error on the hosted targets, where only a trap writes to
standard error and it is the last thing written; the serial console on hvt,
without its carriage returns) and the exit status.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from specc.backends.boot import hvt_command_line
from specc.backends.c.build import RUNTIME_DIR, decode_exit_status, qemu_command
from specc.backends.c.emit import UNIX_CFLAGS, build_c, generate_c
from specc.driver import Compilation, CompileOptions, compile_file
from specc.passes.image import Image

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("python", "unix", "hvt")
HAVE_GCC = shutil.which("gcc") is not None
HAVE_QEMU = shutil.which("qemu-system-x86_64") is not None


def target_params() -> list[object]:
    """TARGETS for `pytest.mark.parametrize`, each C target skipped where
    its tools are missing."""
    import pytest

    marks = {"unix": pytest.mark.skipif(not HAVE_GCC, reason="needs gcc"),
             "hvt": pytest.mark.skipif(not (HAVE_GCC and HAVE_QEMU), reason="needs gcc and QEMU")}
    return [pytest.param(t, marks=marks[t]) if t in marks else t for t in TARGETS]
# Components that wait for the network or a timer: an image using one does
# not stop by itself.
EVENT_SOURCES = frozenset({"socket_udp", "socket_tcp", "direct_udp", "direct_tcp", "timer",
                           "dns_over_tcp", "http_server"})


@dataclass(frozen=True)
class Outcome:
    output: str
    status: int | None  # None: the image did not exit through the platform

    def show(self) -> str:
        return f"{self.output}[exit {self.status}]"


class NotBuilt(Exception):
    """The spec has errors for this target (the message has the diagnostics)."""


def compilation(spec: Path, target: str, *defines: str) -> Compilation:
    c = compile_file(str(spec), CompileOptions(target=target, defines=defines))
    if c.has_errors:
        raise NotBuilt("\n".join(f"{d.code} {d.message}" for d in c.diagnostics if d.is_error))
    return c


def image_of(spec: Path, target: str, *defines: str) -> Image:
    c = compilation(spec, target, *defines)
    assert c.image is not None
    return c.image


def build(spec: Path, target: str, out: Path, *defines: str) -> Path:
    """Compile ``spec`` for ``target`` into ``out``; returns the image."""
    out.mkdir(parents=True, exist_ok=True)
    if target == "python":
        command = [sys.executable, "-m", "specc", "compile", str(spec), "-t", target, "-o",
                   str(out)]
        for define in defines:
            command += ["-D", define]
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
        if result.returncode != 0:
            raise NotBuilt(result.stdout + result.stderr)
        return next(out.glob("*.py"))
    return Path(build_c(image_of(spec, target, *defines), str(out)).path)


SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer", "-g")


def build_sanitized(spec: Path, out: Path, *defines: str) -> Path:
    """The unix image of ``spec`` under AddressSanitizer and UBSan: the
    generated C and the runtime compiled as `specc compile` does, plus the
    sanitizers (any finding stops the image with a report and status 1)."""
    out.mkdir(parents=True, exist_ok=True)
    generated = out / "c"
    generated.mkdir(exist_ok=True)
    program = generate_c(image_of(spec, "unix", *defines), generated)
    image = out / (spec.stem + "-sanitized")
    flags = [f"-I{RUNTIME_DIR}", f"-I{RUNTIME_DIR / 'dns'}", f"-I{generated}",
             "-include", str(generated / "specialized.h")]
    subprocess.run(["gcc", *UNIX_CFLAGS, *SANITIZE, *flags, *map(str, program.sources),
                    "-o", str(image)], check=True, capture_output=True, timeout=300)
    return image


def run(image: Path, target: str, *args: str, timeout: float = 60) -> Outcome:
    """Run an image that stops by itself."""
    if target == "hvt":
        completed = subprocess.run(qemu_command(image, append=hvt_command_line(args)),
                                   capture_output=True, timeout=timeout, check=False)
        text = completed.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
        return Outcome(text, decode_exit_status(completed.returncode))
    command = [sys.executable, str(image)] if target == "python" else [str(image)]
    completed = subprocess.run([*command, *args], capture_output=True, timeout=timeout,
                               check=False)
    text = (completed.stdout + completed.stderr).decode("utf-8", "replace")
    return Outcome(text, completed.returncode)


def stops_by_itself(spec: Path, target: str) -> bool:
    """Whether the image of ``spec`` has no component that waits for events."""
    c = compile_file(str(spec), CompileOptions(target=target))
    if c.has_errors or c.reachable is None or c.graph is None:
        return False
    return not any(c.graph.instances[k].component in EVENT_SOURCES for k in c.reachable.instances)
