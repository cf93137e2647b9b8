"""hvt on a tap device in a network namespace (root only; skipped otherwise).

- `specc run -t hvt --net tap`: examples/dns.spec answers dig from inside
  the namespace exactly as the same image answers through QEMU's user
  networking; ping really goes through the image's ARP and ICMP echo; on
  Ctrl-C the namespace is gone.
- dhcp_ipv4 against a dnsmasq the test starts in its own namespace, with
  T1 = 3 s and T2 = 6 s: the lease is bound, renewed (unicast to the
  server), and, once nftables drops unicast to the server, rebound at T2 by
  broadcast; the server's log shows each exchange.

Every namespace is named after this process and deleted at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_c_targets import compile_c, needs_qemu
from test_dns_vs_nsd import free_port
from test_hvt_dhcp import dig, read_until

from specc import netns
from specc.backends.c.build import qemu_command
from specc.values import Ipv4V

ROOT = Path(__file__).resolve().parent.parent
SPECC = [sys.executable, "-m", "specc"]
IMAGE_MAC = "52:54:00:12:34:56"  # QEMU's default for the first NIC
QUERIES = [("www.example.org", "A"), ("example.org", "SOA"), ("example.org", "NS"),
           ("mail.example.org", "MX"), ("alias.example.org", "A"),
           ("anything.wild.example.org", "A"), ("nope.example.org", "A"),
           ("www.example.org", "AAAA"), ("example.org", "TXT")]


def _why_not_root() -> str | None:
    if os.geteuid() != 0:
        return "needs root: it creates network namespaces and tap devices"
    if shutil.which("ip") is None or not os.path.exists("/dev/net/tun"):
        return "needs `ip` (iproute2) and /dev/net/tun"
    return None


WHY = _why_not_root()
if WHY is not None:
    print(f"tests/test_hvt_tap.py: skipped: {WHY}", file=sys.stderr)
needs_root = pytest.mark.skipif(WHY is not None, reason=WHY or "")
needs_tools = pytest.mark.skipif(
    any(shutil.which(t) is None and not os.path.exists(f"/usr/sbin/{t}")
        for t in ("dig", "ping", "dnsmasq", "nft")),
    reason="dig, ping, dnsmasq or nft missing (dnsutils, iputils-ping, dnsmasq-base, nftables: "
           "scripts/setup.sh)")


def namespaces() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def in_ns(name: str, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", name, *argv], capture_output=True, text=True,
                          timeout=timeout)


@needs_qemu
@needs_root
@needs_tools
def test_specc_run_on_a_tap_matches_user_networking(tmp_path: Path) -> None:
    # The reference: the same spec through user networking, at the same time.
    port = free_port()
    user_image = compile_c(ROOT / "examples" / "dns.spec", tmp_path / "user", "hvt",
                           "-D", "address=10.0.2.15/24", "-D", "gateway=10.0.2.2")
    user = subprocess.Popen(qemu_command(user_image, net=f"user,hostfwd=udp:127.0.0.1:{port}"
                                                         "-10.0.2.15:53"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tap = subprocess.Popen([*SPECC, "run", str(ROOT / "examples" / "dns.spec"), "-t", "hvt",
                            "--net", "tap", "-o", str(tmp_path / "tap")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    name = f"specc-{tap.pid}"
    try:
        output = read_until(tap, r"listening: udp 10\.0\.0\.2:53\n", 120)
        reach = re.search(r"specc: reach it with: ip netns exec (\S+) dig @10\.0\.0\.2 -p 53 ",
                          output)
        assert reach is not None and reach[1] == name, output
        assert name in namespaces()
        answers_tap = [in_ns(name, "dig", "@10.0.0.2", n, t, "+short", "+time=2",
                             "+tries=2").stdout for n, t in QUERIES]
        answers_user = [dig(port, n, t) for n, t in QUERIES]
        assert answers_tap == answers_user
        assert answers_tap[0] == "192.0.2.80\n"
        # ARP and ICMP echo: the neighbour entry is learnt from the image's
        # ARP reply, then three echoes come back.
        in_ns(name, "ip", "neigh", "flush", "dev", "tap0")
        ping = in_ns(name, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.0.0.2")
        assert ping.returncode == 0 and " 0% packet loss" in ping.stdout, ping.stdout
        neigh = in_ns(name, "ip", "neigh", "show", "10.0.0.2", "dev", "tap0").stdout
        assert IMAGE_MAC in neigh, neigh
    finally:
        user.terminate()
        user.wait(timeout=20)
        tap.send_signal(signal.SIGINT)  # what Ctrl-C sends
        tap.communicate(timeout=30)
    assert name not in namespaces(), "the namespace outlived `specc run`"


@needs_qemu
@needs_root
@needs_tools
def test_dhcp_on_a_tap_binds_renews_and_rebinds(tmp_path: Path) -> None:
    image = compile_c(ROOT / "examples" / "dns.spec", tmp_path, "hvt", "-D", "dhcp=true")
    link = netns.Link(Ipv4V(0x0A000202), Ipv4V(0x0A00020F), 24)
    name = f"specc-test-{os.getpid()}"
    with netns.namespace(name, link):
        server_log = tmp_path / "dnsmasq.log"
        with server_log.open("wb") as log:
            server = subprocess.Popen(
                netns.in_namespace(name, netns.dnsmasq_command(
                    link, lease="2m", extra=["--dhcp-option=option:T1,3",
                                             "--dhcp-option=option:T2,6"])),
                stdout=log, stderr=subprocess.STDOUT)
        image_process = subprocess.Popen(
            netns.in_namespace(name, qemu_command(image, net=netns.tap_netdev())),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            output = read_until(image_process, r"dhcp: renewed .*\n", 90)
            assert re.search(r"dhcp: bound 10\.0\.2\.15/24 router 10\.0\.2\.2 server 10\.0\.2\.2 "
                             r"lease 120 s \(renew at 3 s, rebind at 6 s\)\n", output), output
            assert "listening: udp 10.0.2.15:53\n" in output
            assert "dhcp: renewed 10.0.2.15/24" in output
            assert in_ns(name, "dig", "@10.0.2.15", "www.example.org", "A", "+short",
                         "+time=2", "+tries=2").stdout == "192.0.2.80\n"
            # Renewals go to the server's own address; once those are lost,
            # the lease must be kept by broadcasting at T2 (REBINDING).
            rules = ("add table inet t\n"
                     "add chain inet t input { type filter hook input priority 0; }\n"
                     "add rule inet t input ip daddr 10.0.2.2 udp dport 67 drop\n")
            nft = subprocess.run(["ip", "netns", "exec", name, "nft", "-f", "-"], input=rules,
                                 capture_output=True, text=True, timeout=30)
            assert nft.returncode == 0, nft.stderr
            output += read_until(image_process, r"dhcp: rebound .*\n", 60)
            assert "dhcp: rebound 10.0.2.15/24 router 10.0.2.2" in output, output
            assert "lost" not in output
            assert in_ns(name, "dig", "@10.0.2.15", "example.org", "MX", "+short",
                         "+time=2", "+tries=2").stdout == "10 mail.example.org.\n"
        finally:
            image_process.terminate()
            image_process.communicate(timeout=20)
            server.terminate()
            server.wait(timeout=20)
        log_text = server_log.read_text(errors="replace")
        for kind in ("DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK"):
            assert f"{kind}(tap0)" in log_text, log_text
        # One REQUEST while selecting, at least one renewal and one rebinding.
        assert log_text.count("DHCPACK(tap0)") >= 3, log_text
    assert name not in namespaces()


def test_net_tap_is_for_hvt_only(tmp_path: Path) -> None:
    spec = tmp_path / "quiet.spec"
    spec.write_text("unikernel quiet\n\nmain {\n}\n")
    result = subprocess.run([*SPECC, "run", str(spec), "-t", "python", "--net", "tap", "-o",
                             str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 2
    assert "error[E0802]: `--net tap` is for hvt images" in result.stderr
    assert "= help: build with `-t hvt`, or leave out `--net tap`" in result.stderr
    assert "Traceback" not in result.stderr
