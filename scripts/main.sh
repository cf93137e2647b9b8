#!/usr/bin/env bash
# The main job: set up this machine, compile examples/dns.spec for the python
# target (the one that runs anywhere), serve DNS on 127.0.0.1 and ask it with dig.
#
#   ./scripts/main.sh            serve until Ctrl-C (after one query as a demonstration)
#   ./scripts/main.sh --once     answer that one query, then stop (used by the tests)
#
# PORT (default 5353) and ADDRESS (default 127.0.0.1) choose where it listens.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

./scripts/setup.sh

port=${PORT:-5353}
address=${ADDRESS:-127.0.0.1}
out=out/dns-python
.venv/bin/specc compile examples/dns.spec -t python -D "port=$port" -o "$out"

log=$(mktemp)
python3 "$out/dns.py" --bind="$address" 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT

# Wait until the image says it listens (it prints `listening: udp ADDRESS:PORT`).
for _ in $(seq 100); do
  grep -q "listening: udp" "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
cat "$log" >&2

echo "== dig @$address -p $port www.example.org A" >&2
dig @"$address" -p "$port" www.example.org A +norecurse +time=2 +tries=2

if [[ "${1:-}" == "--once" ]]; then
  exit 0
fi
echo "== serving DNS for example.org on $address:$port; Ctrl-C stops it" >&2
wait "$server"
