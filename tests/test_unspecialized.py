"""`specc compile --no-specialize` (passes/unspecialize.py): examples/dns.spec
built unspecialized still answers as NSD does, with the const keys it could
move read at boot, on unix, python and hvt (one QEMU boot), TCP included.
Its dns_zone answers from the zone's records with the generic engine
(dns_resolve.c, runtime/dns_resolve.py), not from precomputed answers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest
from dns_queries import Query, make, query_set
from servers import compile_spec, start_server
from test_dns_vs_nsd import NSD, ask, differences_over_the_network, free_port
from test_python_dns import nsd  # noqa: F401  (a fixture)

from specc.backends.c.build import qemu_command
from specc.driver import CompileOptions, compile_file
from specc.values import CidrV, FilesV

ROOT = Path(__file__).resolve().parent.parent
DNS_SPEC = ROOT / "examples" / "dns.spec"
HVT_ADDRESS = ("-D", "address=10.0.2.15/24", "-D", "gateway=10.0.2.2")
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
needs_qemu = pytest.mark.skipif(shutil.which("gcc") is None or
                                shutil.which("qemu-system-x86_64") is None,
                                reason="gcc or qemu-system-x86 is missing (scripts/setup.sh)")
needs_nsd = pytest.mark.skipif(NSD is None, reason="NSD is not installed")


def example_org_queries() -> list[Query]:
    return [q for q in query_set() if q.zone == "example.org."]


def assert_generic_engine(image: Path) -> None:
    """The image's dns_zone is built from a record table, with dns_resolve.c."""
    generated = image.parent / "c"
    assert (generated / "records_dev_dns_zone.c").exists()
    assert not list(generated.glob("table_*.c"))
    symbols = subprocess.run(["nm", str(image)], capture_output=True, text=True,
                             check=True).stdout
    assert " dns_resolve" in symbols and " dns_answer" not in symbols


def test_the_plan_says_which_keys_are_read_at_boot_and_why_not_the_others() -> None:
    unix = compile_file(str(DNS_SPEC), CompileOptions("unix", specialize=False))
    assert unix.unspecialized is not None and not unix.has_errors
    assert unix.unspecialized.boot == ["port", "tcp"]
    assert "device `ip`" in unix.unspecialized.kept["dhcp"]
    assert "cannot read a `Zone` at boot" in unix.unspecialized.kept["zone"]
    assert "at run time (runtime/dns/dns_resolve.c)" in unix.unspecialized.kept["zone"]
    python = compile_file(str(DNS_SPEC), CompileOptions("python", specialize=False))
    assert python.unspecialized is not None
    assert "at run time (runtime/dns_resolve.py)" in python.unspecialized.kept["zone"]
    assert unix.image is not None and not unix.image.specialized
    # Every device is kept, reached from main or not: dns_tcp is behind `if config.tcp`.
    assert {"tcp4", "dns_tcp"} <= set(unix.image.devices)
    assert {p.flag for p in unix.image.params} >= {"port", "tcp", "max-udp"}
    hvt = compile_file(str(DNS_SPEC), CompileOptions("hvt", specialize=False))
    assert hvt.unspecialized is not None and not hvt.has_errors
    assert hvt.unspecialized.boot == ["port", "tcp"]
    # The components hvt can build that the spec does not use are linked,
    # never started (the hvt test below boots with dhcp_ipv4, kv_ro and
    # http_server linked in).
    assert hvt.image is not None
    assert hvt.image.linked_only == {"dhcp_ipv4", "console", "clock", "timer", "kv_ro",
                                     "http_server"}
    assert set(hvt.unspecialized.linked) == hvt.image.linked_only
    assert hvt.unspecialized.not_linked == {}
    assert {i.component for i in hvt.image.instances} >= {"dhcp_ipv4", "static_ipv4"}
    assert unix.image.linked_only == {"console", "clock", "timer", "kv_ro", "http_server"}
    specialized = compile_file(str(DNS_SPEC), CompileOptions("unix"))
    assert specialized.unspecialized is None and specialized.image is not None
    assert specialized.image.specialized and "tcp4" not in specialized.image.devices


@pytest.mark.parametrize("target, tcp", [("hvt", "direct_tcp"), ("unix", "socket_tcp")])
def test_http_server_is_linked_over_the_specs_tcp_and_an_empty_kv_ro(target: str,
                                                                     tcp: str) -> None:
    c = compile_file(str(DNS_SPEC), CompileOptions(target, specialize=False))
    assert c.image is not None and c.unspecialized is not None
    kv = c.image.instance("kv_ro")
    assert [(a.name, a.value) for a in kv.const_args] == [("files", FilesV("", ()))]
    assert kv.label == "kv_ro(files = no files)"  # not a `dir(...)` the spec could mean
    http = c.image.instance("http_server")
    assert {a.name: a.instance for a in http.device_args} == {"tcp": tcp, "site": "kv_ro"}
    assert http.data, "its site (no files: the error responses) is prepared at compile time"
    assert "no files (an empty `Files`" in c.unspecialized.linked["kv_ro"]
    assert f"uses tcp = {tcp}, site = kv_ro" in c.unspecialized.linked["http_server"]
    # Never started: app_main starts the spec's instances only.
    assert {"kv_ro", "http_server"} <= c.image.linked_only


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("nm") is None,
                    reason="needs gcc and nm")
@pytest.mark.parametrize("target", ["hvt", "unix"])
def test_the_linked_components_functions_are_in_the_image(tmp_path: Path, target: str) -> None:
    image = compile_spec(DNS_SPEC, tmp_path, target, "--no-specialize")
    symbols = set(subprocess.run(["nm", str(image)], capture_output=True, text=True,
                                 check=True).stdout.split())
    assert {"dev_kv_ro_get", "dev_kv_ro_keys", "dev_http_server_serve", "http_handle",
            "dev_dhcp_ipv4_init" if target == "hvt" else "dev_timer_init"} <= symbols
    app = (tmp_path / "c" / "app.c").read_text()
    assert "dev_dns_zone_init();" in app and "dev_kv_ro_init();" not in app
    assert "dev_http_server_init();" not in app
    plan = json.loads((tmp_path / "manifest.json").read_text())["unspecialized"]
    assert plan["linked"]["http_server"].startswith("linked, never started; uses tcp = ")
    assert plan["not_linked"] == {}
    specialized = compile_spec(DNS_SPEC, tmp_path / "specialized", target)
    symbols = set(subprocess.run(["nm", str(specialized)], capture_output=True, text=True,
                                 check=True).stdout.split())
    assert not {"dev_kv_ro_get", "http_handle"} & symbols


@pytest.mark.parametrize("target", ["hvt", "unix"])
def test_a_spec_that_serves_http_is_not_linked_a_second_http_server(target: str) -> None:
    c = compile_file(str(ROOT / "examples" / "http.spec"), CompileOptions(target,
                                                                          specialize=False))
    assert c.image is not None and c.unspecialized is not None, \
        [d.message for d in c.diagnostics]
    components = [i.component for i in c.image.instances]
    assert components.count("http_server") == 1 and components.count("kv_ro") == 1
    assert not {"http_server", "kv_ro"} & set(c.unspecialized.linked)
    # No Zone to serve: dns_zone, and dns_over_tcp that needs one, are not linked, and say why.
    assert "a zone is data the spec must give" in c.unspecialized.not_linked["dns_zone"]
    assert "`zone: DnsZone`" in c.unspecialized.not_linked["dns_over_tcp"]


FILES_ONLY = """unikernel files

devices {
  ip = match target {
    Target.hvt => static_ipv4(ethernet(virtio_net()), 10.0.0.4/24)
    _          => host_ip()
  }
  tcp4  = tcp(ip)
  files = kv_ro(dir("site"))
}

main {
  print("{len(files.keys())} files")
}
"""


@pytest.mark.parametrize("target", ["hvt", "unix"])
def test_a_linked_http_servers_site_is_built_once(tmp_path: Path, target: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A spec with a kv_ro of real files and no http_server is linked one
    over them: linking builds its site (to know it can be built) and the
    image pass takes that site, rather than building it a second time."""
    import specc.backends.http.precompute as precompute

    shutil.copytree(ROOT / "examples" / "site", tmp_path / "site")
    spec = tmp_path / "files.spec"
    spec.write_text(FILES_ONLY)
    built: list[tuple[str, ...]] = []
    build_site = precompute.build_site

    def counted(files: tuple[tuple[str, bytes], ...]) -> dict[str, object]:
        built.append(tuple(name for name, _ in files))
        return build_site(files)

    monkeypatch.setattr(precompute, "build_site", counted)
    c = compile_file(str(spec), CompileOptions(target, specialize=False))
    assert c.image is not None and c.unspecialized is not None, \
        [d.message for d in c.diagnostics]
    files = c.image.devices["files"]  # the spec's kv_ro
    assert f"site = {files}" in c.unspecialized.linked["http_server"]
    site = c.image.instance(files).const_args[0].value
    assert isinstance(site, FilesV) and "index.html" in [n for n, _ in site.files]
    assert built == [tuple(n for n, _ in site.files)]  # once, over the spec's files
    http = c.image.instance("http_server")
    assert len(http.data) == 1
    assert http.data[0].python_constants() == {"SITE": repr(build_site(site.files))}


def test_a_constant_with_no_default_gets_a_neutral_value() -> None:
    """With `dhcp`, hvt's static_ipv4 is linked, never started, its address
    0.0.0.0/0; the launcher still forwards to the address DHCP hands out."""
    c = compile_file(str(DNS_SPEC), CompileOptions("hvt", defines=["dhcp=true"],
                                                   specialize=False))
    assert c.image is not None and c.unspecialized is not None
    assert "static_ipv4" in c.image.linked_only
    static = c.image.instance("static_ipv4")
    assert ("address", CidrV(0, 0)) in [(a.name, a.value) for a in static.const_args]
    assert "`address` has no default: 0.0.0.0/0, a neutral value" in \
        c.unspecialized.linked["static_ipv4"]
    assert c.image.guest_address is not None and c.image.guest_address.dhcp
    assert "--address" not in {f"--{p.flag}" for p in c.image.params}


def test_the_specialized_build_links_nothing_it_does_not_use() -> None:
    c = compile_file(str(DNS_SPEC), CompileOptions("hvt"))
    assert c.image is not None and c.image.linked_only == frozenset()
    assert not {"kv_ro", "http_server", "dhcp_ipv4"} & {i.component for i in c.image.instances}


KINDS = """unikernel kinds

enum Mode { fast, careful }

config {
  const subnet: Cidr = 10.0.0.0/8
  const budget: Size = 64KiB
  const mode: Mode = Mode.fast
  const peer: Ipv4? = none
}

main {
  print("{config.subnet} {config.budget} {config.mode} {config.peer}")
}
"""


@pytest.mark.parametrize("target", ["python", pytest.param("unix", marks=pytest.mark.skipif(
    shutil.which("gcc") is None, reason="needs gcc"))])
def test_every_kind_the_boot_code_parses_becomes_a_boot_parameter(tmp_path: Path,
                                                                  target: str) -> None:
    spec = tmp_path / "kinds.spec"
    spec.write_text(KINDS)
    plan = compile_file(str(spec), CompileOptions(target, specialize=False)).unspecialized
    assert plan is not None
    assert plan.boot == ["subnet", "budget", "mode", "peer"] and plan.kept == {}
    out = tmp_path / target
    built = subprocess.run([sys.executable, "-m", "specc", "compile", str(spec), "-t", target,
                            "--no-specialize", "-o", str(out)], capture_output=True, text=True,
                           cwd=ROOT, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    image = out / ("kinds.py" if target == "python" else "kinds")
    command = [sys.executable, str(image)] if target == "python" else [str(image)]
    default = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert default.stdout == "10.0.0.0/8 64KiB fast none\n", default.stderr
    given = subprocess.run([*command, "--subnet=192.168.0.0/16", "--budget=1MiB",
                            "--mode=careful", "--peer=10.0.0.9"], capture_output=True, text=True,
                           timeout=60)
    assert given.stdout == "192.168.0.0/16 1MiB careful 10.0.0.9\n", given.stderr


GATED = """unikernel gate

config {
  const loud: bool = false
}

devices {
  log = console_log(LogLevel.info)
  led = blinker()
}

component blinker() -> Log {
  impl python "blinker.py"
}

main {
  log.info("up")
  if config.loud {
    led.info("blink")
  }
}
"""


def test_a_key_guarding_what_the_target_cannot_build_stays_constant(tmp_path: Path) -> None:
    spec = tmp_path / "gate.spec"
    spec.write_text(GATED)
    (tmp_path / "blinker.py").write_text("")
    unix = compile_file(str(spec), CompileOptions("unix", specialize=False))
    assert not unix.has_errors and unix.unspecialized is not None and unix.image is not None
    assert unix.unspecialized.boot == []
    assert "`led`, which cannot be built for target `unix`" in unix.unspecialized.kept["loud"]
    assert "led" not in unix.image.devices
    # On python, where `blinker` has an implementation, `loud` is read at boot.
    python = compile_file(str(spec), CompileOptions("python", specialize=False))
    assert python.unspecialized is not None and python.unspecialized.boot == ["loud"]
    assert python.image is not None and "led" in python.image.devices


UNUSED = """unikernel unused

devices {
  ip     = host_ip()
  udp4   = udp(ip)
  tcp4   = tcp(ip)
  led    = blinker()
  _spare = clock()
  log    = console_log(LogLevel.info)
}

component blinker() -> Log {
  impl python "blinker.py"
}

fn echo(d: Datagram) -> bytes? {
  return d.payload
}

main {
  log.info("up")
  udp4.listen(7, echo)
}
"""


def unused_warnings(spec: Path, target: str, specialize: bool) -> tuple[dict[str, str], set[str]]:
    """Each W0003's message by the device it names, and the devices the image has."""
    c = compile_file(str(spec), CompileOptions(target, specialize=specialize))
    assert not c.has_errors and c.image is not None, [d.message for d in c.diagnostics]
    warnings = {}
    for d in c.diagnostics:
        if d.code == "W0003":
            found = re.match(r"device `(\w+)`", d.message)
            assert found is not None, d.message
            warnings[found.group(1)] = d.message
    return warnings, set(c.image.devices)


@pytest.mark.parametrize("target", ["unix", "python"])
def test_an_unused_device_kept_unspecialized_is_not_said_to_be_left_out(tmp_path: Path,
                                                                       target: str) -> None:
    """W0003 says whether the device is built in the build being made: left
    out when specializing; built anyway under --no-specialize, which keeps
    every device the target can build (not `led` on unix: `blinker` has only
    a Python implementation)."""
    spec = tmp_path / "unused.spec"
    spec.write_text(UNUSED)
    (tmp_path / "blinker.py").write_text("")
    left_out = "is never used, so it is not built"
    kept = ("is never used; it is built anyway, because --no-specialize keeps every device the "
            "target can build")
    specialized, devices = unused_warnings(spec, target, True)
    assert specialized == {"tcp4": f"device `tcp4` {left_out}", "led": f"device `led` {left_out}"}
    assert not {"tcp4", "led", "_spare"} & devices
    unspecialized, devices = unused_warnings(spec, target, False)
    built_led = target == "python"
    assert unspecialized == {"tcp4": f"device `tcp4` {kept}",
                             "led": f"device `led` {kept if built_led else left_out}"}
    assert {"tcp4", "_spare"} <= devices and ("led" in devices) == built_led
    # Each warning tells the truth about the image: "not built" exactly for those it lacks.
    for name, message in unspecialized.items():
        assert ("not built" in message) == (name not in devices), message


@pytest.fixture(scope="module")
def unix_unspecialized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The unspecialized unix image started with its port and TCP chosen at boot."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    image = compile_spec(DNS_SPEC, tmp_path_factory.mktemp("unspecialized"), "unix",
                         "--no-specialize")
    assert_generic_engine(image)
    port = free_port()
    process = subprocess.Popen([str(image), "--bind=127.0.0.1", f"--port={port}", "--tcp=true"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stderr is not None
        lines = b""
        deadline = time.monotonic() + 20
        while b"listening: tcp" not in lines and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines += line
        assert re.search(rb"listening: udp 127\.0\.0\.1:%d\n" % port, lines), lines
        assert re.search(rb"listening: tcp 127\.0\.0\.1:%d\n" % port, lines), lines
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@needs_gcc
@needs_nsd
def test_unspecialized_unix_matches_nsd(unix_unspecialized: int,
                                        nsd: int) -> None:  # noqa: F811
    port = unix_unspecialized
    differences = differences_over_the_network(port, nsd, example_org_queries())
    assert not differences, "\n".join(differences[:10])
    # `tcp` was chosen at boot: the TCP listener the specialized build leaves out answers.
    reply = dns.query.tcp(dns.message.make_query("www.example.org", "A"), "127.0.0.1",
                          port=port, timeout=5)
    assert reply.rcode() == dns.rcode.NOERROR and "192.0.2.80" in reply.to_text()


@needs_nsd
def test_unspecialized_python_matches_nsd(tmp_path: Path, nsd: int) -> None:  # noqa: F811
    image = compile_spec(DNS_SPEC, tmp_path, "python", "--no-specialize")
    # dns_zone answers from the zone's records with the generic engine
    # (runtime/dns_resolve.py), not from precomputed answers.
    text = image.read_text()
    assert "_dns_resolve_answer(self.RECORDS" in text and "RECORDS: Final" in text
    assert "_dns_answer_answer" not in text and "TABLE: Final" not in text
    port = free_port()
    server = start_server(image, ("udp",), (f"--port={port}",))
    try:
        assert server.ports["udp"] == port
        differences = differences_over_the_network(port, nsd, example_org_queries())
        assert not differences, "\n".join(differences[:10])
    finally:
        server.stop()


@needs_qemu
@needs_nsd
def test_unspecialized_hvt_matches_nsd(tmp_path: Path, nsd: int) -> None:  # noqa: F811
    image = compile_spec(DNS_SPEC, tmp_path, "hvt", "--no-specialize", *HVT_ADDRESS)
    assert_generic_engine(image)
    port = free_port()
    # `--port` is a boot-time value now; the guest listens on 5353, forwarded from `port`.
    # The default -m: unlike the specialized image (-m 2), this one keeps
    # the TCP connection table, megabytes of .bss.
    command = qemu_command(image, append="--port=5353",
                           net=f"user,hostfwd=udp:127.0.0.1:{port}-10.0.2.15:5353")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        query = make("www.example.org.", "A", edns=1232)
        deadline = time.monotonic() + 30
        while ask(port, query, 0.05) is None:
            assert time.monotonic() < deadline, "the unspecialized image did not answer"
        differences = differences_over_the_network(port, nsd, example_org_queries())
        assert not differences, "\n".join(differences[:10])
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "listening: udp 10.0.2.15:5353" in output
