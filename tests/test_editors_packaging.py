"""Editors (issue 12, item 8): Neovim's set-up (editors/nvim) drives
`specc lsp` on Debian's Neovim 0.7.2, and scripts/package-vscode.sh builds
a .vsix with @vscode/vsce from the npm registry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "tests" / "data" / "nvim_probe.lua"
SPEC = """unikernel app

config {
  ## UDP port to listen on.
  const port: u16 = 7
}

main {
  let x: u16 = "text"
  print("{config.port} {x}")
}
"""


def test_neovim_shows_a_diagnostic_and_a_hover(tmp_path: Path) -> None:
    nvim = shutil.which("nvim")
    if nvim is None:
        pytest.skip("Neovim is not installed (scripts/setup.sh installs Debian's `neovim`)")
    spec = tmp_path / "app.spec"
    spec.write_text(SPEC)
    out = tmp_path / "seen.txt"
    env = {**os.environ, "SPEC_OUT": str(out), "SPEC_EDITORS": str(ROOT / "editors"),
           "SPEC_PYTHON": sys.executable, "SPEC_FILE": str(spec),
           "SPEC_HOVER_LINE": "10", "SPEC_HOVER_COLUMN": "20"}  # on `config.port`
    result = subprocess.run([nvim, "--headless", "--clean", "-u", "NONE", "-S", str(PROBE)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90)
    seen = out.read_text().splitlines() if out.exists() else []
    assert result.returncode == 0, (seen, result.stderr)
    assert seen[1] == "filetype spec"
    assert "diagnostic E0201 9" in seen, seen
    hover = next(line for line in seen if line.startswith("hover "))
    assert "const config.port: u16" in hover and "UDP port to listen on." in hover


def npm_reachable() -> bool:
    """npm, node 20 or later (for @vscode/vsce 3), and the registry answering."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        return False
    node = subprocess.run(["node", "-p", "process.versions.node.split('.')[0]"],
                          capture_output=True, text=True, timeout=30)
    if node.returncode != 0 or int(node.stdout.strip() or 0) < 20:
        return False
    try:
        return subprocess.run(["npm", "ping"], capture_output=True, timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def test_package_vscode_builds_a_vsix(tmp_path: Path) -> None:
    if not npm_reachable():
        pytest.skip("npm, node >= 20 or the npm registry is not available")
    result = subprocess.run([str(ROOT / "scripts" / "package-vscode.sh"), str(tmp_path)],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    [vsix] = list(tmp_path.glob("specc-*.vsix"))
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
        readme = archive.read("extension/readme.md" if "extension/readme.md" in names
                              else "extension/README.md").decode()
        license_name = next(n for n in names if n.lower().startswith("extension/license"))
        license_text = archive.read(license_name).decode()
    assert {"extension.vsixmanifest", "[Content_Types].xml", "extension/extension.js",
            "extension/language-configuration.json",
            "extension/syntaxes/spec.tmLanguage.json"} <= names
    assert any(n.startswith("extension/node_modules/vscode-languageclient/") for n in names)
    assert manifest["repository"]["type"] == "git" and manifest["repository"]["url"]
    assert manifest["license"] == "MIT" and "MIT License" in license_text
    assert "specc lsp" in readme
