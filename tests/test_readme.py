"""The README's first five minutes (issue 12, item 10): every command of its
walk-through is run as written (in a fresh directory, with a free port in
place of 5353, which a DNS server of the machine may hold) and its output
compared with the README's.  A command ending in `&` runs in the background
until the walk-through is over; its output is compared at the end, without
the `specc: wrote ...` lines of the compile (the README mentions them in
words: they are the build's report, whose wording is the CLI's own)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def walkthrough() -> list[tuple[str, list[str]]]:
    section = README.split("## First five minutes", 1)[1]
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block is not None
    steps: list[tuple[str, list[str]]] = []
    for line in block.group(1).splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_readme_has_a_one_line_install() -> None:
    assert "python3 -m venv .venv && .venv/bin/pip install ." in README


def test_the_first_five_minutes(tmp_path: Path) -> None:
    if shutil.which("dig") is None:
        pytest.skip("dig (dnsutils) is not installed")
    steps = walkthrough()
    assert [command.split()[:2] for command, _ in steps] == [
        ["specc", "new"], ["specc", "check"], ["specc", "run"], ["dig", "@127.0.0.1"]]
    port = str(free_udp_port())
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    background: list[tuple[subprocess.Popen[str], list[str]]] = []
    try:
        for command, expected in steps:
            argv = shlex.split(command.removesuffix("&").replace("5353", port))
            if argv[:2] == ["specc", "run"]:
                argv += ["-D", f"port={port}"]  # the README's run uses the spec's default, 5353
            want = [line.replace("5353", port) for line in expected]
            if command.endswith("&"):
                process = subprocess.Popen(argv, cwd=tmp_path, env=env, text=True,
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           start_new_session=True)
                background.append((process, want))
                time.sleep(0.5)
                continue
            deadline = time.monotonic() + 60
            while True:
                result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True,
                                        text=True, timeout=120)
                got = (result.stderr + result.stdout).splitlines()
                if got == want or time.monotonic() > deadline or argv[0] != "dig":
                    break
                time.sleep(0.5)  # the server in the background is still starting
            assert result.returncode == 0, result.stderr
            assert got == want, f"`{command}` printed {got}, the README says {want}"
    finally:
        for process, want in background:
            os.killpg(process.pid, signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
            lines = [line for line in output.splitlines() if not line.startswith("specc: wrote")]
            assert lines[:len(want)] == want, output
