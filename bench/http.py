"""HTTP throughput: examples/http.spec on unix, on hvt behind QEMU's user
networking and on hvt on a tap, beside nginx serving the same files, in
one run.

    .venv/bin/python bench/http.py [--seconds 10] [--connections 16] [--path /]

Each server alone, one after the other, gets `wrk -t1 -cC -dNs --latency`
(Debian's wrk) for the same path; first curl checks that it answers the
file's bytes.  nginx (Debian's) runs from a configuration of this script's
own in a temporary directory: one worker, no access log, keep-alive,
sendfile, on 127.0.0.1 (the packaged service is disabled by
scripts/setup.sh).  The hvt image on a tap runs in a network namespace of
its own (specc/netns.py) and wrk runs there too; root only, else that row
is left out and says why.

Bars (issue 11): hvt over tap at least half of nginx's requests per
second, unix at least nginx's.  Results: bench/results/http-DATE.{md,json}
with the machine and the load average before each measurement.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dns_servers import free_port  # bench/dns_servers.py, while bench/ is on sys.path
from machine import (  # bench/machine.py, first: see there
    ROOT,
    argument_parser,
    leave_bench_path,
    machine,
    positive_int,
    stop,
    write_results,
)

leave_bench_path(ROOT / "tests")

from servers import compile_spec  # noqa: E402

from specc import netns  # noqa: E402
from specc.backends.c.build import qemu_command  # noqa: E402
from specc.values import CidrV, Ipv4V  # noqa: E402

SPEC = ROOT / "examples" / "http.spec"
SITE = ROOT / "examples" / "site"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ text/html html; text/css css; application/json json; text/plain txt; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        index index.html;
    }}
}}
"""


def wait_http(url: str, expected: bytes, prefix: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = subprocess.run([*prefix, "curl", "-s", "--max-time", "5", url],
                             capture_output=True, timeout=30)
        if got.returncode == 0 and got.stdout == expected:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer the file in {timeout} s")


def wrk(url: str, seconds: int, connections: int, prefix: list[str]) -> dict[str, Any]:
    load = os.getloadavg()[0]
    done = subprocess.run([*prefix, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
                           "--latency", url], capture_output=True, text=True,
                          timeout=seconds + 60)
    text = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    lat = re.search(r"Latency\s+([\d.]+\w+)\s+([\d.]+\w+)\s+([\d.]+\w+)", text)
    percentiles = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", text, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    if rps is None or lat is None:
        raise RuntimeError(f"wrk said: {text}{done.stderr}")
    return {"requests_per_s": float(rps[1]), "latency_avg": lat[1], "latency_stdev": lat[2],
            "latency_max": lat[3], "latency_p50": percentiles.get("50"),
            "latency_p99": percentiles.get("99"), "non_2xx": int(errors[1]) if errors else 0,
            "socket_errors": socket_errors[1] if socket_errors else "none",
            "load_average_before": round(load, 2)}


@contextmanager
def process(argv: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield child
    finally:
        stop(child, timeout=20)


def main() -> int:
    parser = argument_parser(__doc__, __file__)
    parser.add_argument("--seconds", type=positive_int, default=10)
    parser.add_argument("--connections", type=positive_int, default=16)
    parser.add_argument("--path", default="/")
    args = parser.parse_args()
    for tool in ("wrk", "curl"):
        if shutil.which(tool) is None:
            print(f"bench/http.py: {tool} is missing (scripts/setup.sh)", file=sys.stderr)
            return 1
    expected = (SITE / (args.path.strip("/") or "index.html")).read_bytes()
    info = machine()
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        work = Path(tmp)

        def measure(name: str, url: str, prefix: list[str] | None = None) -> None:
            wait_http(url, expected, prefix or [])
            rows[name] = wrk(url, args.seconds, args.connections, prefix or [])
            print(f"{name}: {rows[name]['requests_per_s']:.0f} req/s", file=sys.stderr)

        port = free_port()
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=work, port=port, root=SITE))
        with process([NGINX, "-c", str(conf), "-p", str(work)]):
            measure("nginx (host)", f"http://127.0.0.1:{port}{args.path}")

        port = free_port()
        unix = compile_spec(SPEC, work / "unix", "unix", "-D", f"port={port}")
        with process([str(unix), "--bind=127.0.0.1"]):
            measure("unix", f"http://127.0.0.1:{port}{args.path}")

        port = free_port()
        hvt = compile_spec(SPEC, work / "hvt", "hvt", "-D", f"port={port}",
                           "-D", "address=10.0.2.15/24")
        net = f"user,hostfwd=tcp:127.0.0.1:{port}-10.0.2.15:{port}"
        with process(qemu_command(hvt, net=net)):
            measure("hvt, user networking", f"http://127.0.0.1:{port}{args.path}")

        why = None
        try:
            netns.check_can_create()
        except netns.NetnsError as error:
            why = str(error)
        if why is None:
            link = netns.static_link(CidrV(0x0A000004, 24), None)
            name = f"bench-http-{os.getpid()}"
            tap_image = compile_spec(SPEC, work / "tap", "hvt", "-D", "port=8080")
            with netns.namespace(name, link):
                argv = netns.in_namespace(name, qemu_command(tap_image, net=netns.tap_netdev()))
                with process(argv):
                    measure("hvt, tap", f"http://{Ipv4V(0x0A000004)}:8080{args.path}",
                            ["ip", "netns", "exec", name])
        else:
            rows["hvt, tap"] = {"skipped": why}
    versions = {
        "nginx": subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr.strip(),
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0],
    }
    nginx_rps = rows["nginx (host)"]["requests_per_s"]
    tap = rows["hvt, tap"].get("requests_per_s")
    bars = {"hvt over tap >= 0.5 x nginx": None if tap is None else tap >= 0.5 * nginx_rps,
            "unix >= nginx": rows["unix"]["requests_per_s"] >= nginx_rps}
    report = {"machine": info, "versions": versions, "seconds": args.seconds,
              "connections": args.connections, "path": args.path, "results": rows,
              "bars": bars}
    date = datetime.date.today().isoformat()
    lines = [f"# HTTP: examples/http.spec beside nginx, {date}", "",
             f"Machine: {info['cpu']} ({info['nproc']} cores, shared), commit {info['commit']}; "
             f"{versions['nginx']}, {versions['wrk']}.  `wrk -t1 -c{args.connections} "
             f"-d{args.seconds}s --latency` on `{args.path}` ({len(expected)} bytes), one server "
             "at a time; hvt runs under QEMU TCG (no usable KVM here).", "",
             "| server | req/s | vs nginx | latency avg | p50 | p99 | max | non-2xx | "
             "load before |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        if "skipped" in r:
            lines.append(f"| {name} | skipped: {r['skipped']} | | | | | | | |")
            continue
        lines.append(f"| {name} | {r['requests_per_s']:,.0f} | "
                     f"{r['requests_per_s'] / nginx_rps:.2f} | {r['latency_avg']} | "
                     f"{r['latency_p50']} | {r['latency_p99']} | {r['latency_max']} | "
                     f"{r['non_2xx']} | {r['load_average_before']} |")
    lines.append("")
    for bar, met in bars.items():
        lines.append(f"- bar {bar}: {'not measured' if met is None else 'met' if met else 'missed'}")
    text = "\n".join(lines) + "\n"
    stem = write_results("http", date, report, text)
    print(text)
    print(f"wrote {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
