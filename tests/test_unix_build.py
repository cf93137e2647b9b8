"""The unix executable is compiled one source per compiler process, in
parallel, then linked (backends/c/emit.py `_build_unix`): the same bytes as
one `cc` of every source, and a failure names the source that failed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from specc.backends.c.build import BuildError, compiler_environment, find_cc
from specc.backends.c.emit import UNIX_CFLAGS, _build_unix

CC = find_cc()
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler: install gcc")

SOURCES = {
    "main.c": '#include <stdio.h>\nint twice(int);\nextern const char table[];\n'
              'int main(void) { printf("%d %s\\n", twice(21), table); return 0; }\n',
    "twice.c": "int twice(int x) { return 2 * x; }\nint unused(int x) { return x + 1; }\n",
    "table.c": 'const char table[] = "answers";\nconst char dropped[4096] = {1};\n',
}


def write_sources(directory: Path, sources: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in sources.items():
        (directory / name).write_text(text)
        paths.append(directory / name)
    return paths


@pytest.mark.parametrize("keep_unused", [False, True])
def test_the_same_bytes_as_one_compiler_run(tmp_path: Path, keep_unused: bool) -> None:
    assert CC is not None
    sources = write_sources(tmp_path, SOURCES)
    flags = [f for f in UNIX_CFLAGS if not keep_unused or not f.startswith("-f")]
    built = tmp_path / "built"
    _build_unix(CC, flags, sources, built, keep_unused=keep_unused)
    reference = tmp_path / "reference"
    subprocess.run([CC, *flags, *map(str, sources),
                    *([] if keep_unused else ["-Wl,--gc-sections"]), "-o", str(reference)],
                   check=True, env=compiler_environment())
    assert built.read_bytes() == reference.read_bytes()
    assert subprocess.run([str(built)], capture_output=True, text=True,
                          check=True).stdout == "42 answers\n"
    assert not list(tmp_path.glob(".built*"))  # no partial file left


def test_a_failure_names_its_source_and_leaves_nothing(tmp_path: Path) -> None:
    assert CC is not None
    sources = write_sources(tmp_path, {**SOURCES, "twice.c": "int twice(int x) { return x +; }\n"})
    with pytest.raises(BuildError) as failed:
        _build_unix(CC, list(UNIX_CFLAGS), sources, tmp_path / "built", keep_unused=False)
    assert "twice.c" in str(failed.value) and "error" in str(failed.value)
    assert not (tmp_path / "built").exists() and not list(tmp_path.glob(".built*"))


def test_an_undefined_reference_is_the_link_s_error(tmp_path: Path) -> None:
    assert CC is not None
    sources = write_sources(tmp_path, {k: v for k, v in SOURCES.items() if k != "twice.c"})
    with pytest.raises(BuildError) as failed:
        _build_unix(CC, list(UNIX_CFLAGS), sources, tmp_path / "built", keep_unused=False)
    assert "undefined reference to `twice'" in str(failed.value)
