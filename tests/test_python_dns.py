"""examples/dns.spec on the python target, over the network: real clients
(dig, dnspython) and a real NSD serving the same zone as the reference."""

from __future__ import annotations

import ast
import random
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from dns_queries import SERVER_MAX_UDP, make, query_set
from test_dns_vs_nsd import NSD, ask, differences_over_the_network, free_port, running_nsd
from test_python_target import ROOT, compile_python, start

pytestmark = pytest.mark.skipif(NSD is None, reason="NSD is not installed (scripts/setup.sh)")


def classes_and_functions(image: Path) -> set[str]:
    tree = ast.parse(image.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    out = tmp_path_factory.mktemp("dns")
    port = free_port()
    path = compile_python(ROOT / "examples" / "dns.spec", out, "-D", f"port={port}")
    process, ports = start(path)
    try:
        assert ports.get("udp") == port, "the image did not start"
        yield path, port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def nsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with running_nsd(tmp_path_factory.mktemp("nsd"), SERVER_MAX_UDP) as port:
        yield port


def test_dig_gets_the_answer(image: tuple[Path, int]) -> None:
    _, port = image
    dig = shutil.which("dig")
    if dig is None:
        pytest.skip("dig is not installed (Debian dnsutils; scripts/setup.sh installs it)")
    result = subprocess.run([dig, "@127.0.0.1", "-p", str(port), "www.example.org", "A",
                             "+norecurse", "+time=2", "+tries=2"], capture_output=True,
                            text=True, timeout=30)
    assert "status: NOERROR" in result.stdout
    assert "flags: qr aa;" in result.stdout
    assert "192.0.2.80" in result.stdout


def test_dnspython_client(image: tuple[Path, int]) -> None:
    _, port = image
    query = dns.message.make_query("MAIL.Example.ORG", "MX", use_edns=0)
    reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=5)
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.question[0].name.to_text() == "MAIL.Example.ORG."  # the case is echoed
    missing = dns.query.udp(dns.message.make_query("nope.example.org", "A"), "127.0.0.1",
                            port=port, timeout=5)
    assert missing.rcode() == dns.rcode.NXDOMAIN
    assert missing.authority[0].rdtype == dns.rdatatype.SOA


def test_answers_match_nsd_over_the_network(image: tuple[Path, int], nsd: int) -> None:
    _, port = image
    queries = [q for q in query_set() if q.zone == "example.org."]
    assert len(queries) > 500
    differences = differences_over_the_network(port, nsd, queries)
    assert not differences, f"{len(differences)} differ:\n" + "\n".join(differences[:10])


def test_malformed_packets_then_a_normal_query(image: tuple[Path, int]) -> None:
    _, port = image
    rng = random.Random(4)
    valid = make("www.example.org.", "A", edns=1232)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(2000):
            kind = rng.randrange(5)
            if kind == 0:  # a truncated header
                packet = valid[:rng.randrange(12)]
            elif kind == 1:  # a bad label length
                mutable = bytearray(valid)
                mutable[12] = rng.randrange(64, 256)
                packet = bytes(mutable)
            elif kind == 2:  # a compression pointer that loops onto itself
                packet = valid[:12] + b"\xc0\x0c\x00\x01\x00\x01"
            elif kind == 3:  # QDCOUNT 0 or more than 1
                packet = valid[:4] + rng.choice([b"\x00\x00", b"\x00\x02", b"\xff\xff"]) + \
                    valid[6:]
            else:
                packet = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
            sock.sendto(packet, ("127.0.0.1", port))
    # The flood can fill the socket's receive queue, and a full queue drops
    # datagrams as a wire would: ask again until the backlog is served.
    reply = None
    for _ in range(10):
        reply = ask(port, valid, 1.0)
        if reply is not None:
            break
    assert reply is not None, "the server stopped answering"
    message = dns.message.from_wire(reply)
    assert message.rcode() == dns.rcode.NOERROR and message.answer


def test_specialization_is_visible(tmp_path: Path) -> None:
    plain = compile_python(ROOT / "examples" / "dns.spec", tmp_path / "plain")
    with_tcp = compile_python(ROOT / "examples" / "dns.spec", tmp_path / "tcp", "-D", "tcp=true")
    plain_names, tcp_names = classes_and_functions(plain), classes_and_functions(with_tcp)
    tcp_parts = {"SocketTcp", "DnsOverTcp"}
    assert not tcp_parts & plain_names
    assert tcp_parts <= tcp_names
    for names in (plain_names, tcp_names):
        assert not {n for n in names if "dhcp" in n.lower()}
        assert "HttpServer" not in names and "KvRo" not in names


def test_dns_over_tcp_when_configured(tmp_path: Path) -> None:
    port = free_port()
    path = compile_python(ROOT / "examples" / "dns.spec", tmp_path, "-D", "tcp=true",
                          "-D", f"port={port}")
    process, ports = start(path, expect=2)
    try:
        assert ports == {"udp": port, "tcp": port}
        query = dns.message.make_query("www.example.org", "A")
        reply = dns.query.tcp(query, "127.0.0.1", port=port, timeout=5)
        assert reply.rcode() == dns.rcode.NOERROR and reply.answer
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def test_main_job_script(tmp_path: Path) -> None:
    """The README's main command, as `--once`: compile, serve, dig, stop."""
    if shutil.which("dig") is None:
        pytest.skip("dig is not installed")
    port = free_port()
    result = subprocess.run(["bash", str(ROOT / "scripts" / "main.sh"), "--once"],
                            capture_output=True, text=True, timeout=600,
                            env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                                 "/sbin:/bin:" + str(Path(sys.executable).parent),
                                 "PORT": str(port), "HOME": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "status: NOERROR" in result.stdout and "192.0.2.80" in result.stdout
