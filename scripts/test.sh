#!/usr/bin/env bash
# Set up this machine, then lint, type-check and test; stop at the first failure.
# Extra arguments go to pytest, e.g. `./scripts/test.sh -k render`.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

./scripts/setup.sh

echo "== ruff" >&2
.venv/bin/ruff check .
echo "== mypy" >&2
.venv/bin/mypy # the files to check are listed in pyproject.toml
echo "== pytest" >&2
.venv/bin/pytest -n 2 "$@"
