#!/usr/bin/env bash
# The main job: set up this machine, then check every example.
# (Later issues make this compile the examples and serve them.)
# Extra arguments go to `specc check`, e.g. `./scripts/main.sh --format gcc`.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

./scripts/setup.sh

shopt -s nullglob
examples=(examples/*.spec)
if ((${#examples[@]} == 0)); then
  echo "main: no examples/*.spec to check" >&2
  exit 1
fi
exec .venv/bin/specc check "$@" "${examples[@]}"
