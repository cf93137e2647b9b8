"""What `specc check` of a valid spec loads at start-up (issue 13).

Start-up is most of the time `specc check` takes on a small spec, and each
of these modules once cost a few percent of it.  The test runs the command
the way the `specc` script does (specc.entry) in a fresh interpreter and
looks at ``sys.modules`` when it exits: a guard on what is imported, not a
timing, so machine load cannot make it fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Needed only by other commands, by specs that read zone files, by reports
# of mistakes or of internal errors, or not at all.
NOT_FOR_A_CLEAN_CHECK = (
    "importlib.resources", "importlib.readers", "tempfile", "shutil", "zipfile", "difflib",
    "traceback", "subprocess", "asyncio", "lark", "networkx", "elftools", "dns", "rich",
    "pygls", "lsprotocol", "specc.lsp", "specc.fmt", "specc.backends", "specc.builder",
    "specc.driver", "specc.passes.fold", "specc.passes.dce", "specc.passes.image",
    # A clean check from the command line is specc.cli_check's, without click.
    "click", "specc.cli", "specc.cli_middle", "specc.cli_errors", "specc.cli_new",
    # The prelude's cache is read with the C unpickler alone, and the parser
    # tables from scripts/setup.sh's decoded copy, without json or hashlib.
    "pickle", "json", "hashlib", "_hashlib",
)

_RUN = """
import atexit, gc, sys
def report():
    modules = sorted(sys.modules)  # before json, which the check itself should not need
    import json
    print(json.dumps({"modules": modules, "collecting": gc.isenabled(),
                      "frozen": gc.get_freeze_count()}))
atexit.register(report)
sys.argv = ["specc", "check", sys.argv[1]]
from specc.entry import main
main()
"""


def _check_in_a_fresh_process(spec: Path) -> tuple[int, dict[str, object]]:
    proc = subprocess.run([sys.executable, "-c", _RUN, str(spec)], capture_output=True,
                          text=True, timeout=60, check=False)
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


def test_check_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.spec"
    spec.write_text('unikernel tiny\nmain {\n  print("hi")\n}\n', encoding="utf-8")
    status, report = _check_in_a_fresh_process(spec)
    assert status == 0
    modules = report["modules"]
    assert isinstance(modules, list)
    assert "specc.check.checker" in modules  # it did check
    loaded = [m for m in modules if any(m == n or m.startswith(n + ".")
                                        for n in NOT_FOR_A_CLEAN_CHECK)]
    assert loaded == []


def test_a_plain_check_keeps_the_collector_off_and_freezes_what_it_made(tmp_path: Path) -> None:
    # specc.entry: a plain clean check is the process's whole life; the
    # collector stays off (the check makes no cycles) and the tree is frozen
    # before the exit, so no collection walks it.
    spec = tmp_path / "tiny.spec"
    spec.write_text('unikernel tiny\nmain {\n  print("hi")\n}\n', encoding="utf-8")
    status, report = _check_in_a_fresh_process(spec)
    assert status == 0
    assert report["collecting"] is False
    assert isinstance(report["frozen"], int) and report["frozen"] > 0


def test_the_collector_runs_while_click_reports(tmp_path: Path) -> None:
    # A check with a report to print goes on to click with the collector on.
    spec = tmp_path / "warned.spec"
    spec.write_text('unikernel warned\nmain {\n  let unused = 1\n}\n', encoding="utf-8")
    status, report = _check_in_a_fresh_process(spec)
    assert status == 0
    assert "click" in report["modules"]  # type: ignore[operator]
    assert report["collecting"] is True
    assert isinstance(report["frozen"], int) and report["frozen"] > 0
