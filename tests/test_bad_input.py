"""Bad input never reaches an internal error or a hang (issue 12, item 9).

Each case runs the real command line (``specc check``, and ``specc compile``
where the middle end reads the data) with a time limit: a hang fails the
test instead of stalling the suite.  Every answer is a coded diagnostic with
a position, exit status 1, and no E9001 or traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECC = [sys.executable, "-m", "specc"]
ZONE = (ROOT / "examples" / "zones" / "example.org.zone").read_text()


def specc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SPECC, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def diagnostics(*args: str, cwd: Path) -> tuple[int, list[dict[str, object]]]:
    result = specc(*args, "--format", "json", cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def only(found: list[dict[str, object]], code: str) -> dict[str, object]:
    assert [d["code"] for d in found] == [code], found
    return found[0]


def zone_spec(tmp_path: Path, path: str) -> Path:
    spec = tmp_path / "z.spec"
    spec.write_text(f'unikernel z\n\nconfig {{\n  const zone: Zone = zonefile("{path}")\n}}\n\n'
                    "devices {\n  db = dns_zone(config.zone)\n}\n\nmain {}\n")
    return spec


# --------------------------------------------------------------------------- literals


@pytest.mark.parametrize("literal", [
    "9" * 5000,  # past Python's 4,300-digit limit for int()
    "-" + "9" * 5000,
    "0x" + "f" * 5000,  # no limit for hex, but too long to print in decimal
    "1" + "0" * 25,
])
def test_an_over_long_integer_literal_is_e0202(tmp_path: Path, literal: str) -> None:
    spec = tmp_path / "big.spec"
    spec.write_text(f'unikernel t\n\nmain {{\n  let x: u64 = {literal}\n  print("{{x}}")\n}}\n')
    status, found = diagnostics("check", str(spec), cwd=tmp_path)
    d = only(found, "E0202")
    assert status == 1
    assert (d["line"], d["column"], d["end_column"]) == (4, 16, 16 + len(literal))
    assert len(str(d["message"])) < 200  # the literal is not printed in full


@pytest.mark.parametrize(("literal", "what"), [("9" * 5000 + "s", "duration"),
                                               ("20000000000GiB", "size"),
                                               ("99999999999999999999999ms", "duration")])
def test_an_over_long_duration_or_size_is_e0202(tmp_path: Path, literal: str, what: str) -> None:
    spec = tmp_path / "big.spec"
    spec.write_text(f'unikernel t\n\nmain {{\n  let x = {literal}\n  print("{{x}}")\n}}\n')
    status, found = diagnostics("check", str(spec), cwd=tmp_path)
    assert status == 1 and what in str(only(found, "E0202")["message"])


# --------------------------------------------------------------------------- zones


@pytest.mark.parametrize("text", ["", "\n\n", "; only a comment\n", "$ORIGIN example.org.\n$TTL 60\n"])
def test_an_empty_or_comment_only_zone_is_e0501(tmp_path: Path, text: str) -> None:
    (tmp_path / "empty.zone").write_text(text)
    spec = zone_spec(tmp_path, "empty.zone")
    for command in (["check"], ["compile", "-t", "python", "-o", str(tmp_path / "out")]):
        status, found = diagnostics(*command, str(spec), cwd=tmp_path)
        d = only(found, "E0501")
        assert status == 1 and "holds no records" in str(d["message"])
        assert d["line"] == 4 and d["column"] == 22


def test_a_device_as_the_zone_file_is_a_located_e0501(tmp_path: Path) -> None:
    spec = zone_spec(tmp_path, "/dev/zero")  # read to the end, this was a MemoryError
    for command in (["check"], ["compile", "-t", "python", "-o", str(tmp_path / "out")]):
        status, found = diagnostics(*command, str(spec), cwd=tmp_path)
        d = only(found, "E0501")
        assert status == 1 and "character device" in str(d["message"])
        assert d["file"] == str(spec) and d["line"] == 4


def test_a_fifo_as_the_zone_file_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.zone")  # opened for reading, a FIFO waits for a writer
    spec = zone_spec(tmp_path, "pipe.zone")
    for command in (["check"], ["compile", "-t", "python", "-o", str(tmp_path / "out")]):
        status, found = diagnostics(*command, str(spec), cwd=tmp_path)
        assert status == 1 and "FIFO" in str(only(found, "E0501")["message"])


def test_a_zone_file_over_the_size_cap_is_a_located_e0501(tmp_path: Path) -> None:
    with open(tmp_path / "huge.zone", "wb") as handle:
        handle.truncate(17 << 20)  # sparse: costs no disk
    spec = zone_spec(tmp_path, "huge.zone")
    status, found = diagnostics("check", str(spec), cwd=tmp_path)
    d = only(found, "E0501")
    assert status == 1 and "17.0 MiB" in str(d["message"]) and "limit" in str(d["message"])
    assert d["line"] == 4


def test_a_directory_as_the_zone_file(tmp_path: Path) -> None:
    (tmp_path / "zones").mkdir()
    status, found = diagnostics("check", str(zone_spec(tmp_path, "zones")), cwd=tmp_path)
    assert status == 1 and "a directory" in str(only(found, "E0501")["message"])


# --------------------------------------------------------------------------- dir(...)


def files_spec(tmp_path: Path, path: str) -> Path:
    spec = tmp_path / "f.spec"
    spec.write_text(f'unikernel f\n\nconfig {{\n  const site: Files = dir("{path}")\n}}\n\n'
                    "devices {\n  files = kv_ro(config.site)\n}\n\nmain {}\n")
    return spec


def test_a_fifo_as_the_directory_is_e0502(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "site")
    status, found = diagnostics("check", str(files_spec(tmp_path, "site")), cwd=tmp_path)
    assert status == 1 and "not a directory" in str(only(found, "E0502")["message"])


def test_a_directory_over_the_size_cap_is_e0502(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    with open(tmp_path / "site" / "big.bin", "wb") as handle:
        handle.truncate(65 << 20)
    os.mkfifo(tmp_path / "site" / "pipe")  # not a regular file: left out, never read
    status, found = diagnostics("check", str(files_spec(tmp_path, "site")), cwd=tmp_path)
    d = only(found, "E0502")
    assert status == 1 and "more than 64 MiB" in str(d["message"])
    assert d["line"] == 4 and d["column"] == 23


def test_a_fifo_inside_a_directory_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("hello\n")
    os.mkfifo(tmp_path / "site" / "pipe")
    status, found = diagnostics("check", str(files_spec(tmp_path, "site")), cwd=tmp_path)
    assert (status, found) == (0, [])


# --------------------------------------------------------------------------- the spec itself


def test_a_fifo_or_a_device_as_the_spec_or_a_used_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.spec")
    status, found = diagnostics("check", "pipe.spec", cwd=tmp_path)
    assert status == 1 and "FIFO" in str(only(found, "E0104")["message"])
    status, found = diagnostics("check", "/dev/zero", cwd=tmp_path)
    assert status == 1 and "character device" in str(only(found, "E0104")["message"])
    (tmp_path / "app.spec").write_text('unikernel app\nuse "pipe.spec"\n\nmain {}\n')
    status, found = diagnostics("check", "app.spec", cwd=tmp_path)
    d = only(found, "E0104")
    assert status == 1 and "FIFO" in str(d["message"]) and d["line"] == 2
    fmt = specc("fmt", "--check", "pipe.spec", cwd=tmp_path)
    assert fmt.returncode == 1 and "FIFO" in fmt.stderr
