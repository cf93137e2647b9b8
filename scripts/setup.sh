#!/usr/bin/env bash
# Set up this machine (Debian 12, as root) to build, test and run specc.
#
# Idempotent and quick when nothing changed: apt runs only for missing
# packages, the venv is created only once, and pip runs again only when
# pyproject.toml has changed since the last successful install.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

# System packages.  Later issues add qemu-system-x86, a C toolchain, nsd...
# graphviz: `dot`, for `specc graph -o X.svg|png` and the pictures in docs/graphs.
# nsd, dnsutils: the reference DNS server and `dig`, for tests/test_dns_vs_nsd.py
# and the end-to-end DNS tests.
# qemu-system-x86, gcc, binutils: build the `hvt` images (freestanding C, linked
# with ld) and boot them under `qemu-system-x86_64 -M microvm`
# (tests/test_hvt_platform.py).
# make, ninja-build: tests/test_build_systems.py runs the Makefile and build.ninja
# of docs/build-systems.md.
# iproute2, iputils-ping, dnsmasq-base, nftables: `specc run --net tap` (a
# network namespace with a tap; dnsmasq as its DHCP server) and its tests
# (tests/test_hvt_tap.py: ping, a DHCP server with short leases, dropped renewals).
# ethtool: tests/lossy_link.py turns the veth offloads off (drops per frame).
# nginx, wrk: bench/http.py (nginx serves the same files on 127.0.0.1 from a
# configuration of its own; the packaged service is disabled below).
packages=(python3 python3-venv python3-pip git graphviz nsd dnsutils dnsperf curl
          qemu-system-x86 gcc binutils make ninja-build iproute2 iputils-ping dnsmasq-base
          nftables neovim knot bind9 busybox-static cpio lz4 linux-perf valgrind ethtool nginx
          wrk)

missing=()
for pkg in "${packages[@]}"; do
  # `dpkg -s` alone succeeds for removed-but-not-purged packages; check the status.
  if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  if ((EUID != 0)); then
    echo "setup: missing packages: ${missing[*]}; run this script as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # The servers among these (nsd, knot, bind9, nginx) must not start while they
  # install: the tests and benchmarks run private instances, and a packaged one
  # would take port 53 or 80.  policy-rc.d exiting 101 is Debian's way to say so.
  policy=/usr/sbin/policy-rc.d
  ours=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
    trap 'rm -f "$policy"' EXIT  # also when the install fails
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [[ -n $ours ]]; then rm -f "$policy"; trap - EXIT; fi
fi

# The benchmarks start their own Knot, BIND and nginx; the packaged services
# would hold ports 53 and 80 and spend CPU on a shared machine.
for service in knot named bind9 nginx; do
  if [[ -x /etc/init.d/$service ]] && ((EUID == 0)); then
    invoke-rc.d "$service" stop >/dev/null 2>&1 || true
    update-rc.d "$service" disable >/dev/null 2>&1 || true
  fi
done

# The project's virtual environment, with whatever python3 is on PATH.
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv" >&2
  python3 -m venv .venv
fi

# Reinstall only when the dependencies may have changed.  The editable
# install means source edits need no reinstall at all.
stamp=.venv/.specc-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]] || ! .venv/bin/python -c 'import specc.cli' 2>/dev/null; then
  echo "setup: installing specc and its dependencies into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
  echo "$want" >"$stamp"
fi

# Bytecode for specc's own modules.  pip compiles the dependencies when it
# installs them, but an editable install leaves specc's sources uncompiled,
# and where PYTHONDONTWRITEBYTECODE is set (it is in the sessions on this machine)
# Python never caches them either: every `specc` run would compile every
# module it imports again, a quarter to a third of `specc check`'s start-up
# (issue 13).  compileall skips files whose bytecode is up to date; a source
# edited later is still read from the source (Python checks the timestamp),
# only compiled at each run until this script runs again.  compileall does
# not follow symbolic links, so the folders specc/{grammar,passes,backends}
# point at are named themselves.
.venv/bin/python -m compileall -q specc grammar passes backends

# The prelude's parsed tree, which every check would otherwise parse again
# (specc/prelude/cache.py; used only while every file it was made from is
# unchanged: an edit leaves it unused, never wrong, until this runs again).
.venv/bin/python -m specc.prelude.cache
# And tables.json decoded, in marshal's format (specc/syntax/tables.py).
.venv/bin/python -m specc.syntax.tables --decoded
# The methods @dataclass writes for specc's records, compiled (specc/dataclass_code.py;
# a record changed since is compiled at each run until this runs again, never wrong).
.venv/bin/python -c 'from specc import dataclass_code; dataclass_code.main()'
