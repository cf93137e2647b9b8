"""Boot to first answer: examples/dns.spec as an hvt unikernel under QEMU,
beside the floor: a PVH image that exits at once (bench/pvh_floor.S).

    .venv/bin/python bench/hvt_boot.py [RUNS]

RUNS rounds (default 20), each one floor run and one image run under each
firmware, back to back so that all see the same load (the firmwares in
alternating order, round by round):

- floor: the same QEMU command line (microvm, user networking, the
  virtio-net device) booting bench/pvh_floor.S, whose first instruction
  makes QEMU exit; launch to exit is what QEMU, its firmware and the ELF
  loading cost before any image code runs;
- firmware: QEMU's `-bios`, specc's own (backends/c/firmware.py, the
  default, what the bar is measured with) or QEMU microvm's default, qboot
  (`qemu_command(firmware="qemu")`); both floors and both launch-to-answer
  times are reported, and the gain, the median of the rounds' differences;
- image: launch to the first answer to `www.example.org A`, the query sent
  again every millisecond from launch (so that a query lost before the
  image listens costs at most 1 ms; in between the client sleeps in
  select(), woken by the answer itself, so it neither polls nor takes a
  core from QEMU on a 2-core machine), with the time each console line
  arrived: the first one (`[info] serving ...`, printed once the platform,
  clock calibration included, and the network are up) and `listening:`;
- traced: the same image built with SPECC_HVT_TRACE=boot, which stamps
  each boot step with the TSC and prints the stamps once idle (under TCG
  the guest TSC starts near 0 when QEMU starts the vCPU): where the image's
  own time goes, step by step, medians over the rounds.  The trace's own
  stamps cost a little; its launch-to-answer is reported beside.  Run
  under both firmwares: the step table is specc's, and the TSC at the first
  stamp (`PVH entry`) under each is what the firmware left of the guest's
  time before the image.

Also one run each of QEMU without any machine (`qemu --version`: loading
QEMU's 51 shared libraries, relocating them and running their constructors)
and of the floor with other QEMU options, for where QEMU's own time goes.
Each floor and `--version` run also reports QEMU's CPU time (user + system,
from wait4) and its page faults: less at the mercy of the load than wall
time on a shared machine.  Results in bench/results/hvt-boot-DATE.{md,json}.
Bar (issue 13): median launch to answer within 35 ms under TCG.
"""

from __future__ import annotations

import datetime
import os
import re
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from machine import (  # bench/machine.py, before bench/ leaves sys.path
    ROOT,
    argument_parser,
    leave_bench_path,
    machine,
    positive_int,
    stop,
    write_results,
)

leave_bench_path(ROOT / "tests")

from dns_queries import make  # noqa: E402
from test_c_targets import compile_c  # noqa: E402
from test_dns_vs_nsd import free_port  # noqa: E402

from specc.backends.c.build import (  # noqa: E402
    LINKER_SCRIPT,
    QEMU,
    TRACE_ENV,
    choose_accel,
    qemu_command,
)

BAR_MS = 35.0
FLOOR_SOURCE = ROOT / "bench" / "pvh_floor.S"
RESEND_S = 0.001
GIVE_UP_S = 30.0
MEMORY_MIB = 2  # the smallest that serves (bench/size.py)


def build_floor(out: Path) -> Path:
    subprocess.run(["gcc", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none",
                    f"-Wl,-T,{LINKER_SCRIPT}", str(FLOOR_SOURCE), "-o", str(out)], check=True)
    return out


class Run(NamedTuple):
    """One QEMU run to its exit: wall time from launch, and what wait4 says of
    the process (all its threads): CPU time, user + system, and minor faults."""

    wall: float
    cpu: float
    faults: int


def run_to_exit(command: list[str], env: dict[str, str] | None = None) -> tuple[Run, int]:
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Run(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_minflt), process.returncode


def floor_command(floor: Path, firmware: str | None = None) -> list[str]:
    return qemu_command(floor, net="user", memory_mib=MEMORY_MIB, firmware=firmware)


def floor_once(floor: Path, variant: str | None = None, firmware: str | None = None) -> Run:
    command, env = floor_command(floor, firmware), None
    if variant is not None:
        command, env = FLOOR_VARIANTS[variant](command)
    run, code = run_to_exit(command, env)
    if code != 1:  # isa-debug-exit with 0: (0 << 1) | 1
        raise RuntimeError(f"the floor ({variant or 'as launched'}) exited {code}")
    return run


def _replace(old: str, new: str) -> Callable[[list[str]], tuple[list[str], None]]:
    def change(command: list[str]) -> tuple[list[str], None]:
        joined = "\0".join(command)
        assert old in joined, (old, command)
        return joined.replace(old, new, 1).split("\0"), None
    return change


def _without_network(command: list[str]) -> tuple[list[str], None]:
    at = command.index("-netdev")
    return command[:at] + command[at + 4:], None  # -netdev X -device virtio-net-device...


# glibc's allocator in transparent huge pages, with 8 MiB of slack at each
# heap extension so that whole 2 MiB pages fit: QEMU's ~6 MiB of start-up heap
# then costs a few page faults instead of ~1,300 (~1.5 us each on this VM).
HEAP_TUNABLES = "glibc.malloc.hugetlb=1:glibc.malloc.top_pad=8388608"


def _huge_heap(command: list[str]) -> tuple[list[str], dict[str, str]]:
    return command, {**os.environ, "GLIBC_TUNABLES": HEAP_TUNABLES}


# The floor with other QEMU options or environment, in every round.  An option
# that does not make the floor faster cannot make the image faster.  Tried
# before and dropped, no change to the floor (bench/results/hvt-boot-2026-12-03
# to -4): microvm pic=off, smm=off, -accel tcg,tb-size=16; also tried without
# a change in CPU time or faults (issue 13): tb-size=4/64, thread=single,
# -display none for -nographic, microvm graphics/mem-merge/ioapic2/pcie/usb
# off, -netdev user ipv6=off, MALLOC_ARENA_MAX=1.
FLOOR_VARIANTS: dict[str, Callable[[list[str]], tuple[list[str], dict[str, str] | None]]] = {
    "-m 32 (specc run's memory)": _replace("\0-m\0" + str(MEMORY_MIB) + "\0", "\0-m\0" + "32\0"),
    "no network (no -netdev, no virtio-net)": _without_network,
    f"GLIBC_TUNABLES={HEAP_TUNABLES}": _huge_heap,
}


Result = TypeVar("Result")


def both_firmwares(round_: int, once: Callable[[str], Result]) -> tuple[Result, Result]:
    """`once` under specc's firmware and under qboot: (specc's, qboot's), run
    in the order of this round (specc's first in even rounds)."""
    if round_ % 2 == 0:
        ours = once("specc")
        return ours, once("qemu")
    qboot = once("qemu")
    return once("specc"), qboot


def version_once() -> Run:
    run, code = run_to_exit([QEMU, "--version"])
    if code != 0:
        raise RuntimeError(f"{QEMU} --version exited {code}")
    return run


class Console(threading.Thread):
    """QEMU's stdout (the serial console), each line with when it arrived."""

    def __init__(self, stream: Any, started: float) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.started = started
        self.lines: list[tuple[float, str]] = []

    def run(self) -> None:
        for raw in iter(self.stream.readline, b""):
            self.lines.append((time.monotonic() - self.started,
                               raw.decode("utf-8", "replace").rstrip()))

    def first(self, prefix: str) -> float | None:
        return next((t for t, line in self.lines if line.startswith(prefix)), None)


# After the answer, how long a traced image gets to print its stamps (it
# does once quiet for 10 ms), and how long without a new line means done.
TRACE_WAIT_S = 3.0
TRACE_DONE_S = 0.2
TRACE_LINE = re.compile(r"\[boot\] (\d+)\.(\d{3}) ms \(\+(\d+) us\) (.+)")


def image_once(image: Path, traced: bool = False, firmware: str | None = None) -> dict[str, Any]:
    port = free_port()
    query = make("www.example.org.", "A", edns=1232)
    command = qemu_command(image, net=f"user,hostfwd=udp:127.0.0.1:{port}-10.0.2.15:53",
                           memory_mib=MEMORY_MIB, firmware=firmware)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.setblocking(False)
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        console = Console(process.stdout, started)
        console.start()
        try:
            answered = None
            while answered is None and time.monotonic() - started < GIVE_UP_S:
                client.sendto(query, ("127.0.0.1", port))
                answered = await_answer(client, query[:2], time.monotonic() + RESEND_S)
            if answered is not None:
                answered -= started
            if answered is None:
                raise RuntimeError(f"no answer within {GIVE_UP_S:.0f} s")
            if traced:
                wait_for_trace(console)
        finally:
            stop(process)
            console.join(timeout=5)
    result: dict[str, Any] = {"answer": answered, "first_line": console.first("[info]"),
                              "listening": console.first("listening:")}
    if traced:
        result["steps"] = trace_steps([line for _, line in console.lines])
    return result


def await_answer(client: socket.socket, query_id: bytes, until: float) -> float | None:
    """When (time.monotonic()) the answer to the query with ID `query_id`
    arrived, or None if none did by `until`: asleep in select() meanwhile."""
    while (left := until - time.monotonic()) > 0:
        readable, _, _ = select.select([client], [], [], left)
        if not readable:
            return None
        try:
            reply = client.recv(4096)
        except (BlockingIOError, ConnectionRefusedError):  # no one on the port yet
            continue
        if reply[:2] == query_id:
            return time.monotonic()
    return None


def wait_for_trace(console: Console) -> None:
    until = time.monotonic() + TRACE_WAIT_S
    while time.monotonic() < until:
        stamps = [t for t, line in console.lines if line.startswith("[boot]")]
        if stamps and time.monotonic() - console.started - stamps[-1] > TRACE_DONE_S:
            return
        time.sleep(0.02)


def trace_steps(lines: list[str]) -> list[tuple[str, float, int]]:
    """(step, ms since the TSC started, us since the step before) per [boot] line;
    a step seen again is numbered: "frame in IPv4 #2"."""
    seen: dict[str, int] = {}
    steps = []
    for m in map(TRACE_LINE.fullmatch, lines):
        if m:
            seen[m[4]] = seen.get(m[4], 0) + 1
            name = m[4] if seen[m[4]] == 1 else f"{m[4]} #{seen[m[4]]}"
            steps.append((name, int(m[1]) + int(m[2]) / 1000, int(m[3])))
    return steps


def entry_to_answer(steps: list[tuple[str, float, int]]) -> float:
    """Guest ms from the image's first instruction to its first answer: the
    first IPv4 frame out (before it only ARP goes out: the announcement)."""
    at = {name: ms for name, ms, _ in steps}
    return at["frame out IPv4"] - at["PVH entry"]


def pvh_entry(steps: list[tuple[str, float, int]]) -> float:
    """Guest ms from the vCPU's start (TSC near 0) to the image's first
    instruction: what the firmware took, and QEMU before it."""
    return next(at for name, at, _ in steps if name == "PVH entry")


def trace_table(runs: list[list[tuple[str, float, int]]]) -> list[dict[str, Any]]:
    """Per step seen in every run, in the order of the first: median and best."""
    rows = []
    for name, _, _ in runs[0]:
        found = [next(((at, d) for n, at, d in steps if n == name), None) for steps in runs]
        if any(f is None for f in found):
            continue
        ats = [f[0] for f in found if f is not None]
        deltas = [f[1] for f in found if f is not None]
        rows.append({"step": name, "at_ms": round(statistics.median(ats), 3),
                     "us": round(statistics.median(deltas)), "best_us": min(deltas)})
    return rows


def ms(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values) * 1000, 1),
            "best": round(min(values) * 1000, 1),
            "worst": round(max(values) * 1000, 1)}


def usage(runs: list[Run]) -> dict[str, Any]:
    return {"wall_ms": ms([r.wall for r in runs]), "cpu_ms": ms([r.cpu for r in runs]),
            "faults": statistics.median(r.faults for r in runs)}


def variant_row(name: str, use: dict[str, Any]) -> str:
    wall, cpu = use["wall_ms"], use["cpu_ms"]
    return (f"| `{name}` | {wall['median']} | {wall['best']} | {cpu['median']} | {cpu['best']} "
            f"| {use['faults']:.0f} |")


def main(argv: list[str]) -> int:
    arguments = argument_parser(__doc__, __file__)
    arguments.add_argument("runs", nargs="?", type=positive_int, default=20, metavar="RUNS",
                           help="rounds, each one floor run and one image run (default: 20)")
    runs: int = arguments.parse_args(argv).runs
    host_before = machine()
    with tempfile.TemporaryDirectory() as work:
        image = compile_c(ROOT / "examples" / "dns.spec", Path(work) / "dns", "hvt",
                          "-D", "address=10.0.2.15/24", "-D", "gateway=10.0.2.2")
        os.environ[TRACE_ENV] = "boot"  # compile_c's specc inherits it
        try:
            traced = compile_c(ROOT / "examples" / "dns.spec", Path(work) / "traced", "hvt",
                               "-D", "address=10.0.2.15/24", "-D", "gateway=10.0.2.2")
        finally:
            del os.environ[TRACE_ENV]
        floor = build_floor(Path(work) / "floor.elf")
        floor_runs: list[Run] = []
        boots: list[dict[str, Any]] = []
        qboot_floor_runs: list[Run] = []
        qboot_boots: list[dict[str, Any]] = []
        traces: list[dict[str, Any]] = []
        qboot_traces: list[dict[str, Any]] = []
        versions: list[Run] = []
        variants: dict[str, list[Run]] = {v: [] for v in FLOOR_VARIANTS}
        for round_ in range(runs):
            ours, qboot = both_firmwares(round_, lambda fw: floor_once(floor, firmware=fw))
            floor_runs.append(ours)
            qboot_floor_runs.append(qboot)
            answer, qboot_answer = both_firmwares(round_, lambda fw: image_once(image, firmware=fw))
            boots.append(answer)
            qboot_boots.append(qboot_answer)
            trace, qboot_trace = both_firmwares(
                round_, lambda fw: image_once(traced, traced=True, firmware=fw))
            traces.append(trace)
            qboot_traces.append(qboot_trace)
            versions.append(version_once())
            for variant, times in variants.items():
                times.append(floor_once(floor, variant))
    floors = [r.wall for r in floor_runs]
    answers = [b["answer"] for b in boots if b["answer"] is not None]
    lines = [b["first_line"] for b in boots if b["first_line"] is not None]
    listening = [b["listening"] for b in boots if b["listening"] is not None]
    gaps = [b["answer"] - f for b, f in zip(boots, floors, strict=True) if b["answer"] is not None]
    qboot_floors = [r.wall for r in qboot_floor_runs]
    qboot_answers = [b["answer"] for b in qboot_boots if b["answer"] is not None]
    answer_gains = [q["answer"] - b["answer"] for q, b in zip(qboot_boots, boots, strict=True)
                    if q["answer"] is not None and b["answer"] is not None]
    floor_gains = [q - f for q, f in zip(qboot_floors, floors, strict=True)]
    date = datetime.date.today().isoformat()
    accel = choose_accel("auto")
    host = machine()
    median = statistics.median(answers) * 1000
    record: dict[str, Any] = {
        "date": date, "runs": runs, "bar_ms": BAR_MS, "bar_met": median <= BAR_MS,
        "accelerator": " ".join(accel.args), "memory_mib": MEMORY_MIB,
        "command": qemu_command(Path("IMAGE"), net="user,hostfwd=...", memory_mib=MEMORY_MIB),
        "first_answer_ms": ms(answers), "floor_ms": ms(floors),
        "floor_cpu_ms": ms([r.cpu for r in floor_runs]),
        "floor_faults": statistics.median(r.faults for r in floor_runs),
        "qemu_version": usage(versions),
        "gap_to_floor_ms": ms(gaps),
        "firmware": "specc (backends/c/firmware.py) unless named qboot",
        "qboot_first_answer_ms": ms(qboot_answers), "qboot_floor_ms": ms(qboot_floors),
        "qboot_floor_cpu_ms": ms([r.cpu for r in qboot_floor_runs]),
        "qboot_floor_faults": statistics.median(r.faults for r in qboot_floor_runs),
        "firmware_gain_answer_ms": ms(answer_gains), "firmware_gain_floor_ms": ms(floor_gains),
        "floor_variants": {v: usage(t) for v, t in variants.items()},
        "console_first_line_ms": ms(lines), "console_listening_ms": ms(listening),
        "traced_answer_ms": ms([t["answer"] for t in traces]),
        "trace_steps": trace_table([t["steps"] for t in traces]),
        "traced_entry_to_answer_ms": ms([entry_to_answer(t["steps"]) / 1000 for t in traces]),
        "pvh_entry_guest_ms": ms([pvh_entry(t["steps"]) / 1000 for t in traces]),
        "qboot_pvh_entry_guest_ms": ms([pvh_entry(t["steps"]) / 1000 for t in qboot_traces]),
        "runs_ms": [{"floor": round(f * 1000, 1),
                     **{k: None if v is None else round(v * 1000, 1) for k, v in b.items()},
                     "qboot_floor": round(qf * 1000, 1),
                     "qboot_answer": None if qb["answer"] is None else round(qb["answer"] * 1000, 1)}
                    for f, b, qf, qb in zip(floors, boots, qboot_floors, qboot_boots,
                                            strict=True)],
        "machine": host, "load_average_before": host_before["load_average"],
    }
    a, f, g = record["first_answer_ms"], record["floor_ms"], record["gap_to_floor_ms"]
    v, c1, c2 = record["qemu_version"]["wall_ms"], record["console_first_line_ms"], \
        record["console_listening_ms"]
    fc, vc = record["floor_cpu_ms"], record["qemu_version"]["cpu_ms"]
    qa, qf, qc = record["qboot_first_answer_ms"], record["qboot_floor_ms"], \
        record["qboot_floor_cpu_ms"]
    ga, gf = record["firmware_gain_answer_ms"], record["firmware_gain_floor_ms"]
    pe, qe = record["pvh_entry_guest_ms"], record["qboot_pvh_entry_guest_ms"]
    verdict = "met" if record["bar_met"] else f"**missed** by {median - BAR_MS:.0f} ms"
    text = f"""# hvt boot to first DNS answer, {date}

examples/dns.spec, QEMU microvm (`{record['accelerator']}`, `-m {MEMORY_MIB}`), user
networking, specc's firmware (`-bios`, backends/c/firmware.py) unless the row says qboot
(QEMU's default); {runs} rounds, each a floor run and an image run under each firmware
back to back, the firmwares in alternating order.

| what | median ms | best | worst |
|---|---:|---:|---:|
| launch -> first answer (the bar) | {a['median']} | {a['best']} | {a['worst']} |
| floor: launch -> exit of a PVH image that exits at once | {f['median']} | {f['best']} | {f['worst']} |
| floor: QEMU's CPU time, user + system ({record['floor_faults']:.0f} page faults) | {fc['median']} | {fc['best']} | {fc['worst']} |
| gap: answer - floor, same round | {g['median']} | {g['best']} | {g['worst']} |
| qboot: launch -> first answer | {qa['median']} | {qa['best']} | {qa['worst']} |
| qboot: floor | {qf['median']} | {qf['best']} | {qf['worst']} |
| qboot: floor, QEMU's CPU time ({record['qboot_floor_faults']:.0f} page faults) | {qc['median']} | {qc['best']} | {qc['worst']} |
| firmware gain: qboot - specc's, first answer, same round | {ga['median']} | {ga['best']} | {ga['worst']} |
| firmware gain: qboot - specc's, floor, same round | {gf['median']} | {gf['best']} | {gf['worst']} |
| traced: guest TSC at the image's first instruction (`PVH entry`) | {pe['median']} | {pe['best']} | {pe['worst']} |
| traced, qboot: the same | {qe['median']} | {qe['best']} | {qe['worst']} |
| launch -> first console line (platform, clock, network up) | {c1['median']} | {c1['best']} | {c1['worst']} |
| launch -> `listening:` line | {c2['median']} | {c2['best']} | {c2['worst']} |
| `qemu-system-x86_64 --version` (libraries and constructors only) | {v['median']} | {v['best']} | {v['worst']} |
| `--version`: CPU time ({record['qemu_version']['faults']:.0f} page faults) | {vc['median']} | {vc['best']} | {vc['worst']} |

Bar {BAR_MS:.0f} ms median: {verdict}.

Where the image's time goes: the traced build (`SPECC_HVT_TRACE=boot`), same rounds; its
launch -> first answer {record['traced_answer_ms']['median']} ms median.  "at" is the guest TSC
(near 0 when QEMU starts the vCPU), "took" the time since the step before, so each row is
what the image did between the two stamps; `frame out IPv4` is the first answer going out
(`frame out ARP`: the announcement).  PVH entry -> first answer out:
{record['traced_entry_to_answer_ms']['median']} ms median, best {record['traced_entry_to_answer_ms']['best']}.

| step | at ms (median) | took us (median) | took us (best) |
|---|---:|---:|---:|
{chr(10).join(f"| {r['step']} | {r['at_ms']} | {r['us']} | {r['best_us']} |" for r in record['trace_steps'])}

Floor with other QEMU options, same rounds (as launched: {f['median']} ms wall, {fc['median']} ms
CPU, {record['floor_faults']:.0f} page faults; medians):

| variant | wall ms | best | CPU ms | best | page faults |
|---|---:|---:|---:|---:|---:|
{chr(10).join(variant_row(v, t) for v, t in record['floor_variants'].items())}

Machine: `{host['uname']}`, {host['cpu']} ({host['nproc']} logical), load average
{host_before['load_average']} before and {host['load_average']} after; commit {host['commit']}.

Reproduce: `.venv/bin/python bench/hvt_boot.py {runs}`
"""
    stem = write_results("hvt-boot", date, record, text)
    print(text)
    print(f"wrote {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
