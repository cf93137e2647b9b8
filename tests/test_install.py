"""specc works when installed from a wheel, not only from the source tree.

The test builds a wheel of the project, installs it into a fresh virtual
environment and runs the installed ``specc`` command there.  That proves the
package list in pyproject.toml is complete and that the data files the front
end reads at run time (``grammar/spec.lark`` and ``prelude/prelude.spec``)
ship inside the wheel: an editable install would find them in the source tree
and hide the mistake.

How, and why this way (the simplest approach that is fast and needs no
network in the common case):

1. The project is copied to a temporary directory first, so the build's
   ``build/`` and ``*.egg-info`` droppings never land in the working tree.
2. ``pip wheel --no-deps --no-build-isolation`` builds the wheel with the
   setuptools of the running environment when that satisfies the project's
   ``[build-system] requires``; otherwise (an older setuptools in the venv)
   pip builds it in an isolated environment, which fetches setuptools from
   the pip cache or PyPI.
3. ``python -m venv --without-pip`` creates the fresh environment (no
   ensurepip: quick), and the running pip installs the wheel into it with
   ``pip --python VENV/bin/python install --no-deps --no-index``.
4. The dependencies (lark, click, ...) are not downloaded again: a ``.pth``
   file in the new venv appends the running environment's site-packages to
   ``sys.path``.  Lines of a ``.pth`` file only add directories, they do not
   process the ``.pth`` files inside them, so the editable install of specc
   living there stays inactive; the test also asserts that ``specc`` is
   imported from the new venv.  Every check runs with ``PYTHONPATH`` unset
   and from a directory outside the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORED = (".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".mypy_cache",
           ".pytest_cache", ".ruff_cache", ".hypothesis", "bench", "tests", "docs")
TIMEOUT = 240


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, (
        f"`{' '.join(args)}` exited {proc.returncode}\n--- stdout ---\n{proc.stdout}"
        f"\n--- stderr ---\n{proc.stderr}"
    )
    return proc.stdout


def _build_requirements_met() -> bool:
    """Whether this environment can build the project without build isolation."""
    from packaging.requirements import Requirement

    with open(ROOT / "pyproject.toml", "rb") as handle:
        requires: list[str] = tomllib.load(handle)["build-system"]["requires"]
    for text in requires:
        requirement = Requirement(text)
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            return False
        if not requirement.specifier.contains(installed, prereleases=True):
            return False
    return True


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env["PYTHONNOUSERSITE"] = "1"
    env["NO_COLOR"] = "1"
    return env


def _site_packages(venv: Path) -> Path:
    found = list((venv / "lib").glob("python3*/site-packages"))
    assert len(found) == 1, f"expected one site-packages under {venv}, found {found}"
    return found[0]


def test_wheel_installs_and_checks_examples(tmp_path: Path) -> None:
    # 1. A private copy of the source tree.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*IGNORED))

    # 2. The wheel.
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
             "-w", str(dist)]
    if _build_requirements_met():
        build.append("--no-build-isolation")
    _run([*build, str(source)], cwd=tmp_path)
    wheels = list(dist.glob("specc-*.whl"))
    assert len(wheels) == 1, f"expected one specc wheel, found {wheels}"

    # 3. A fresh venv with the wheel (and nothing else) installed.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--disable-pip-version-check", str(wheels[0])], cwd=tmp_path)

    # 4. The dependencies, from the running environment.
    site = _site_packages(venv)
    (site / "_specc_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n",
                                                encoding="utf-8")

    env = _clean_env()
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    # The package comes from the new venv, with its data files.
    where = _run([str(python), "-c",
                  "import specc, pathlib; print(pathlib.Path(specc.__file__).resolve().parent)"],
                 cwd=outside, env=env).strip()
    package = Path(where)
    assert package.is_relative_to(site.resolve()), f"specc imported from {package}, not {site}"
    assert (package / "grammar" / "spec.lark").is_file(), "grammar/spec.lark is not in the wheel"
    assert (package / "prelude" / "prelude.spec").is_file(), "prelude.spec is not in the wheel"

    specc = venv / "bin" / "specc"
    assert specc.is_file(), "the wheel installs no `specc` console script"
    out = _run([str(specc), "--version"], cwd=outside, env=env)
    assert out.startswith("specc "), out

    for example in sorted((ROOT / "examples").glob("*.spec")):
        _run([str(specc), "check", "--color", "never", str(example)], cwd=outside, env=env)
    _run([str(python), "-m", "specc", "check", str(ROOT / "examples" / "dns.spec")],
         cwd=outside, env=env)

    # Building needs what only a build reads: the back ends, their hook
    # modules (backends/*/component.py) and the run-time sources.
    for target, image in (("python", "echo.py"), ("unix", "echo")):
        _run([str(specc), "compile", str(ROOT / "examples" / "echo.spec"), "-t", target, "-o",
              str(tmp_path / target)], cwd=outside, env=env)
        command = [str(python)] if target == "python" else []
        shown = _run([*command, str(tmp_path / target / image), "--help"], cwd=outside, env=env)
        assert shown.startswith("usage: echo [--PARAM=VALUE ...]\n"), shown

