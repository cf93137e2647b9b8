#!/usr/bin/env bash
# Package the VS Code extension (editors/vscode) as a .vsix with @vscode/vsce
# from the npm registry.  Usage: scripts/package-vscode.sh [OUTPUT_DIR]
# (default: out/vscode).  Needs node and npm (Debian 12: nodejs, npm).
#
# The extension is staged in a temporary directory, so editors/vscode stays
# free of node_modules: its runtime dependency (vscode-languageclient) is
# installed there, the repository's README and LICENSE go in beside it, and
# the `repository` field is the URL of this clone's `origin` remote (a
# git+file: URL of the clone when it has none).
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

VSCE_VERSION=3.9.2  # 3.x needs node >= 20; 4.x needs node >= 22
major="$(node -p 'process.versions.node.split(".")[0]')"
if ((major < 20)); then
  echo "package-vscode: @vscode/vsce $VSCE_VERSION needs node 20 or later; this is $(node --version)" >&2
  exit 2
fi
out="${1:-out/vscode}"
mkdir -p "$out"
out="$(readlink -f "$out")"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp -r editors/vscode/. "$stage/"
cp editors/vscode/README.md "$stage/README.md"
cp LICENSE "$stage/LICENSE"

url="$(git remote get-url origin 2>/dev/null || true)"
if [[ -z "$url" ]]; then
  url="git+file://$(git rev-parse --show-toplevel)"
fi
# The repository field, filled in the staged copy only.
python3 - "$stage/package.json" "$url" <<'PY'
import json, sys
path, url = sys.argv[1], sys.argv[2]
with open(path, encoding="utf-8") as handle:
    manifest = json.load(handle)
manifest["repository"] = {"type": "git", "url": url, "directory": "editors/vscode"}
with open(path, "w", encoding="utf-8") as handle:
    json.dump(manifest, handle, indent=2)
    handle.write("\n")
PY

cd "$stage"
npm install --omit=dev --no-audit --no-fund --loglevel=error
version="$(python3 -c 'import json; print(json.load(open("package.json"))["version"])')"
npx --yes "@vscode/vsce@$VSCE_VERSION" package \
  --out "$out/specc-$version.vsix"
echo "package-vscode: wrote $out/specc-$version.vsix" >&2
