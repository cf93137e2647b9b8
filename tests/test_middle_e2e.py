"""The middle end through the real command line (issue 3, "Must show").

``specc compile``, ``specc explain`` and ``specc graph`` on
``examples/dns.spec``: what the manifest holds with the defaults, with
``-D tcp=true`` and for the hosted targets; ``explain`` naming the pruning
condition; the DOT and SVG graphs; a byte-identical manifest; and bad input
that gets a one-line error, exit status 1 and no traceback.  At the end,
corner cases of removal reasons and of the manifest's inputs (each was a bug
once).

Most tests run the CLI in-process with click's ``CliRunner`` (fast); the ones
about exit statuses, tracebacks and hash-seed independence run the installed
``specc`` script in a subprocess.  The working directory is the repository,
so paths in messages read ``examples/dns.spec``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from specc.cli import main

ROOT = Path(__file__).resolve().parent.parent
DNS = "examples/dns.spec"
# The manifest names every file relative to the spec's directory.
DNS_IN_MANIFEST = "dns.spec"
ECHO = "examples/echo.spec"
SPECC = Path(sys.executable).with_name("specc")
BAD_TOML = "[config]\nport = 8053\ntcp = \n"


@pytest.fixture(autouse=True)
def _in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def cli(*args: str) -> tuple[int, str, str]:
    """``specc ARGS`` in-process: (exit status, stdout, stderr)."""
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def real_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``specc ARGS`` as a separate process, as a user runs it."""
    executable = str(SPECC) if SPECC.exists() else shutil.which("specc")
    assert executable is not None, "the specc script is not installed"
    return subprocess.run([executable, *args], capture_output=True, text=True, check=False,
                          timeout=120, cwd=ROOT, env={**os.environ, **(env or {})})


def compile_manifest(tmp_path: Path, *args: str) -> dict[str, Any]:
    """``specc compile`` into a fresh directory; the manifest it wrote."""
    out = tmp_path / "out"
    status, _, err = cli("compile", *args, "-o", str(out))
    if status == 1 and "not implemented" in err:
        # A target whose code generation is not there yet: compile writes the
        # manifest, then stops with 1 and says so.
        assert "code generation" in err, err
    else:
        assert status == 0, err
        assert "specc: wrote " in err, err
    manifest = out / "manifest.json"
    assert manifest.is_file(), err
    loaded: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
    return loaded


def kept_devices(manifest: dict[str, Any]) -> set[str]:
    return {name for instance in manifest["instances"] for name in instance["devices"]}


def kept_components(manifest: dict[str, Any]) -> set[str]:
    return {c for instance in manifest["instances"]
            for c in [instance["component"], *instance["via"]]}


def removed(manifest: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in manifest["removed"] if r["kind"] == kind}


def position_of(path: str, text: str) -> tuple[int, int]:
    """Line and column of the first occurrence of ``text`` in the file."""
    for number, line in enumerate((ROOT / path).read_text(encoding="utf-8").split("\n"), 1):
        if text in line:
            return number, line.index(text) + 1
    raise AssertionError(f"{text!r} is not in {path}")


# --- dns.spec with the defaults ------------------------------------------------


def test_defaults_leave_tcp_out_of_the_manifest(tmp_path: Path) -> None:
    manifest = compile_manifest(tmp_path, DNS)
    assert manifest["target"] == "hvt"
    assert manifest["config"]["tcp"] == {"kind": "const", "type": "bool", "value": False,
                                         "source": "default"}
    assert {"tcp4", "dns_tcp"}.isdisjoint(kept_devices(manifest))
    assert {"tcp", "direct_tcp", "socket_tcp", "dns_over_tcp"}.isdisjoint(
        kept_components(manifest))
    assert {"udp4", "ip", "db", "log"} <= kept_devices(manifest)
    devices = removed(manifest, "device")
    line, column = position_of(DNS, "config.tcp {")
    for name in ("tcp4", "dns_tcp"):
        assert devices[name]["decided_by"] == {
            "condition": "config.tcp", "value": "false",
            "at": {"file": DNS_IN_MANIFEST, "line": line, "column": column}}
    components = removed(manifest, "component")
    assert {"tcp", "direct_tcp", "dns_over_tcp"} <= set(components)


def test_explain_tcp4_names_the_condition_and_its_value() -> None:
    status, out, err = cli("explain", DNS, "tcp4")
    assert status == 0, err
    line, column = position_of(DNS, "config.tcp {")
    assert out.startswith("device `tcp4`: not in the image\n"), out
    assert f"`config.tcp` = false at {DNS}:{line}:{column}" in out, out


def test_explain_tcp4_as_json() -> None:
    status, out, err = cli("explain", DNS, "tcp4", "--json")
    assert status == 0, err
    [explanation] = json.loads(out)
    line, column = position_of(DNS, "config.tcp {")
    assert explanation["kind"] == "device"
    assert explanation["in_image"] is False
    assert explanation["decided_by"] == {"condition": "config.tcp", "value": "false",
                                         "at": {"file": DNS, "line": line, "column": column}}


def test_explain_a_kept_device_shows_its_use_path() -> None:
    status, out, err = cli("explain", DNS, "ip", "--json")
    assert status == 0, err
    [explanation] = json.loads(out)
    assert explanation["in_image"] is True
    assert explanation["use_path"][0] == "main"
    assert explanation["use_path"][-1] == "ip (static_ipv4)"


def test_explain_a_config_key() -> None:
    status, out, err = cli("explain", DNS, "tcp")
    assert status == 0, err
    assert "config `tcp`: in the image" in out
    assert "const `tcp: bool` = false (from default)" in out
    # `tcp` is also a component of the prelude, removed here.
    assert "component `tcp`: not in the image" in out


def test_explain_an_unknown_name_is_an_error() -> None:
    status, out, err = cli("explain", DNS, "tcp5")
    assert status == 1
    assert out == ""
    assert "`tcp5` is not a device, component, function or config key" in err
    assert "did you mean" in err


# --- -D tcp=true -----------------------------------------------------------------


def test_tcp_true_puts_them_in(tmp_path: Path) -> None:
    # The hosted components here; test_tcp_true_on_hvt checks the hvt middle end.
    manifest = compile_manifest(tmp_path, DNS, "-D", "tcp=true", "-t", "python")
    assert manifest["config"]["tcp"]["value"] is True
    assert manifest["config"]["tcp"]["source"] == "-D"
    assert {"tcp4", "dns_tcp"} <= kept_devices(manifest)
    assert {"tcp", "socket_tcp", "dns_over_tcp"} <= kept_components(manifest)
    assert {"tcp4", "dns_tcp"}.isdisjoint(removed(manifest, "device"))
    assert {"tcp", "socket_tcp", "dns_over_tcp"}.isdisjoint(removed(manifest, "component"))
    dns_tcp = next(i for i in manifest["instances"] if "dns_tcp" in i["devices"])
    assert dns_tcp["operations"] == ["serve"]


def test_tcp_true_on_hvt() -> None:
    status, out, err = cli("compile", DNS, "-D", "tcp=true", "--dump-after", "dce")
    assert status == 0, err
    kept = out.split("# devices in the image\n", 1)[1].split("}\n", 1)[0]
    assert "  dns_tcp = dns_over_tcp(udp_size = 1232)  # uses serve\n" in kept
    assert "  tcp4 = direct_tcp(max_connections = 64, send_buffer = 1MiB, receive_window = 8KiB, " \
        "idle_timeout = 2m)\n" in kept
    removed_lines = out.split("# removed\n", 1)[1]
    assert "tcp4" not in removed_lines and "dns_tcp" not in removed_lines


def test_explain_tcp4_with_tcp_true() -> None:
    status, out, err = cli("explain", DNS, "tcp4", "-D", "tcp=true")
    assert status == 0, err
    assert out.startswith("device `tcp4`: in the image\n"), out
    assert "use path: main -> dns_tcp (dns_over_tcp) -> tcp4 (direct_tcp)" in out, out


def test_explain_says_a_kept_device_cannot_be_built() -> None:
    spec = str(ROOT / "tests" / "middle_golden" / "no_implementation" / "input.spec")
    status, out, err = cli("explain", spec, "light")
    assert status == 0, err
    assert out.startswith("device `light`: in the image\n"), out
    assert "because: cannot be built for target `hvt`: component `led` has no C " \
        "implementation" in out, out
    status, out, err = cli("explain", spec, "light", "-t", "python")
    assert status == 0, err
    assert "cannot be built" not in out, out


# --- hosted targets ----------------------------------------------------------------


def test_unix_leaves_the_direct_stack_out(tmp_path: Path) -> None:
    target = "unix"
    manifest = compile_manifest(tmp_path, DNS, "--target", target)
    assert manifest["target"] == target
    hvt_only = {"virtio_net", "ethernet", "static_ipv4", "dhcp_ipv4", "direct_udp"}
    assert hvt_only.isdisjoint(kept_components(manifest))
    ip = next(i for i in manifest["instances"] if "ip" in i["devices"])
    assert ip["component"] == "host_ip"
    components = removed(manifest, "component")
    line, column = position_of(DNS, "target {")
    for name in ("virtio_net", "ethernet", "static_ipv4"):
        assert components[name]["decided_by"] == {
            "condition": "target", "value": f"Target.{target}",
            "at": {"file": DNS_IN_MANIFEST, "line": line, "column": column}}, name


def test_python_leaves_the_direct_stack_out() -> None:
    # (Through --dump-after: compile for python runs the Python back end.)
    status, out, err = cli("compile", DNS, "--target", "python", "--dump-after", "dce")
    assert status == 0, err
    kept = out.split("# devices in the image\n", 1)[1].split("}\n", 1)[0]
    assert "  ip = host_ip()\n" in kept
    for component in ("virtio_net", "ethernet", "static_ipv4", "direct_udp"):
        assert f"{component}(" not in kept
        assert f"#   component {component}: its only use is in a branch removed because " \
            "`target` is Target.python" in out


def test_explain_virtio_net_on_unix() -> None:
    status, out, err = cli("explain", DNS, "virtio_net", "-t", "unix")
    assert status == 0, err
    line, column = position_of(DNS, "target {")
    assert out.startswith("component `virtio_net`: not in the image\n"), out
    assert f"`target` = Target.unix at {DNS}:{line}:{column}" in out, out


# --- log.debug --------------------------------------------------------------------


def test_log_debug_vanishes_at_info_and_stays_at_debug(tmp_path: Path) -> None:
    status, info, err = cli("compile", ECHO, "-D", "log_level=info", "--dump-after", "fold")
    assert status == 0, err
    status, debug, err = cli("compile", ECHO, "-D", "log_level=debug", "--dump-after", "fold")
    assert status == 0, err
    assert "log.debug(" not in info
    assert "log.warn(" in info
    assert "log.debug(" in debug
    manifest = compile_manifest(tmp_path, ECHO)  # the default level is info
    assert [d["call"] for d in manifest["dropped_calls"]] == ["log.debug"]
    log = next(i for i in manifest["instances"] if "log" in i["devices"])
    assert "debug" not in log["operations"]


def test_dump_after_is_the_golden_text() -> None:
    """The CLI prints what tests/test_middle_golden.py records in-process."""
    case = ROOT / "tests" / "middle_golden" / "dns_tcp"
    status, out, err = cli("compile", str(case / "input.spec"), "-t", "unix", "-D", "tcp=true",
                           "--dump-after", "dce")
    assert status == 0, err
    from specc.check.loader import prelude_path

    out = re.sub(r"<prelude>:\d+:\d+", "<prelude>", out.replace(prelude_path(), "<prelude>"))
    out = out.replace(str(case) + os.sep, "<case>/")
    assert out == (case / "after-dce.txt").read_text(encoding="utf-8")


# --- the manifest is reproducible ----------------------------------------------------


def test_manifest_is_byte_identical_across_runs(tmp_path: Path) -> None:
    outputs = []
    for run, seed in enumerate(("1", "2")):
        out = tmp_path / f"run{run}"
        # Different hash seeds: no set or dict order may leak into the manifest.
        completed = real_cli("compile", DNS, "-o", str(out), env={"PYTHONHASHSEED": seed})
        assert completed.returncode in (0, 1), completed.stderr
        outputs.append((out / "manifest.json").read_bytes())
    assert outputs[0] == outputs[1]
    manifest = json.loads(outputs[0])
    assert [i["path"] for i in manifest["inputs"]] == [DNS_IN_MANIFEST, "<prelude>",
                                                       "zones/example.org.zone"]


def test_manifest_names_the_prelude_only_as_prelude(tmp_path: Path) -> None:
    compile_manifest(tmp_path, DNS)
    text = (tmp_path / "out" / "manifest.json").read_text(encoding="utf-8")
    assert "prelude.spec" not in text
    assert str(ROOT) not in text


def test_manifest_lists_the_files_baked_in(tmp_path: Path) -> None:
    manifest = compile_manifest(tmp_path, "examples/http.spec", "-t", "python")
    paths = [i["path"] for i in manifest["inputs"]]
    assert any(p.endswith("index.html") for p in paths), paths
    assert any(p.endswith("style.css") for p in paths), paths


def test_manifest_lists_a_zone_read_in_the_devices_block(tmp_path: Path) -> None:
    (tmp_path / "zones").mkdir()
    shutil.copy(ROOT / "examples" / "zones" / "example.org.zone", tmp_path / "zones")
    spec = tmp_path / "app.spec"
    spec.write_text('unikernel app\ndevices {\n  db = dns_zone(zonefile("zones/example.org.zone"))'
                    '\n}\nfn answer(d: Datagram) -> bytes? {\n  return db.answer(d.payload, 512)'
                    '\n}\nmain {\n  answer(Datagram { src: 10.0.0.1, src_port: 1, dst_port: 53, '
                    'payload: b"" })\n}\n', encoding="utf-8")
    manifest = compile_manifest(tmp_path, str(spec))
    assert "db" in kept_devices(manifest)
    paths = [i["path"] for i in manifest["inputs"]]
    assert any(p.endswith("example.org.zone") for p in paths), paths


def test_manifest_does_not_depend_on_the_output_directory(tmp_path: Path) -> None:
    compile_manifest(tmp_path / "a", DNS)
    compile_manifest(tmp_path / "b", DNS)
    assert (tmp_path / "a/out/manifest.json").read_bytes() == \
        (tmp_path / "b/out/manifest.json").read_bytes()


# --- graph ---------------------------------------------------------------------------


def node_lines(dot: str) -> dict[str, str]:
    """Node statements of a DOT text by node id."""
    nodes: dict[str, str] = {}
    for line in dot.splitlines():
        found = re.match(r'\s*"([^"]+)" \[', line)
        if found and "->" not in line:
            nodes[found.group(1)] = line
    return nodes


def test_graph_is_dot_with_removed_nodes_greyed() -> None:
    status, out, err = cli("graph", DNS)
    assert status == 0, err
    assert out.startswith('digraph "dns" {')
    assert 'label="dns (target hvt)"' in out
    nodes = node_lines(out)
    for kept in ("static_ipv4", "direct_udp", "dns_zone", "console_log"):
        assert "grey" not in nodes[kept] and "dashed" not in nodes[kept], nodes[kept]
    for gone in ("direct_tcp", "dns_over_tcp"):
        assert "color=grey60" in nodes[gone] and "dashed" in nodes[gone], nodes[gone]
        assert "tooltip=" in nodes[gone] and "removed: " in nodes[gone], nodes[gone]
    assert "`config.tcp` is false" in nodes["dns_over_tcp"]
    # Edges are labelled with the parameter they fill; edges to removed nodes are grey.
    assert '"direct_udp" -> "static_ipv4" [label="ip"];' in out
    assert '"dns_over_tcp" -> "direct_tcp" [label="tcp", style=dashed, color=grey60];' in out


def test_graph_of_a_hosted_target() -> None:
    status, out, err = cli("graph", DNS, "-t", "unix")
    assert status == 0, err
    assert 'label="dns (target unix)"' in out
    nodes = node_lines(out)
    assert "host_ip" in nodes and "virtio_net" not in nodes and "static_ipv4" not in nodes


def test_graph_to_a_dot_file(tmp_path: Path) -> None:
    target = tmp_path / "dns.dot"
    status, out, err = cli("graph", DNS, "-o", str(target))
    assert status == 0, err
    assert out == ""
    assert target.read_text(encoding="utf-8").startswith('digraph "dns" {')


needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's `dot` is not installed (Debian: graphviz)")


@needs_dot
def test_graph_as_svg(tmp_path: Path) -> None:
    target = tmp_path / "dns.svg"
    status, _, err = cli("graph", DNS, "-o", str(target))
    assert status == 0, err
    svg = target.read_text(encoding="utf-8")
    assert "<svg" in svg and "</svg>" in svg
    assert "<title>dns</title>" in svg
    assert "dns_tcp" in svg and "removed: " in svg
    assert "dns (target hvt)" in svg


@needs_dot
def test_graph_as_png(tmp_path: Path) -> None:
    target = tmp_path / "dns.img"
    status, _, err = cli("graph", DNS, "--as", "png", "-o", str(target))
    assert status == 0, err
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


# --- bad input: one line naming the problem, exit 1, no traceback --------------------


def assert_clean_failure(completed: subprocess.CompletedProcess[str], problem: str) -> None:
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr
    assert completed.stdout == ""
    first = completed.stderr.splitlines()[0]
    assert problem in first, completed.stderr


def test_toml_that_does_not_parse(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_TOML, encoding="utf-8")
    completed = real_cli("compile", DNS, "--config", str(bad), "-o", str(tmp_path / "out"))
    assert_clean_failure(completed, "is not valid TOML")
    assert not (tmp_path / "out").exists()
    # In GCC's format (on stdout) the whole report is that one line, with the position.
    completed = real_cli("compile", DNS, "--config", str(bad), "--format", "gcc")
    assert completed.returncode == 1
    assert completed.stderr == ""
    assert completed.stdout.splitlines() == [
        f"{bad}:3:7: error[E0405]: config file `{bad}` is not valid TOML: Invalid value"]


def test_define_for_a_param() -> None:
    completed = real_cli("compile", DNS, "-D", "max_udp=1400")
    assert_clean_failure(completed, "`max_udp` is a param")
    assert "--max-udp=1400" in completed.stderr  # the hint: how to give it at boot


def test_define_without_equals() -> None:
    completed = real_cli("compile", DNS, "-D", "tcp")
    assert_clean_failure(completed, "error[E0402]: `-D tcp` is not of the form NAME=VALUE")
    assert "<command line>:1:4" in completed.stderr  # the caret is under `tcp`
    completed = real_cli("compile", DNS, "-D", "tcp", "--format", "gcc")
    assert completed.returncode == 1 and completed.stderr == ""
    assert completed.stdout.splitlines() == [
        "<command line>:1:4: error[E0402]: `-D tcp` is not of the form NAME=VALUE"]


@pytest.mark.parametrize("command", [["explain", DNS, "tcp4"], ["graph", DNS]])
def test_other_commands_reject_bad_defines(command: list[str], tmp_path: Path) -> None:
    assert_clean_failure(real_cli(*command, "-D", "tcp"), "is not of the form NAME=VALUE")
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_TOML, encoding="utf-8")
    assert_clean_failure(real_cli(*command, "--config", str(bad)), "is not valid TOML")


@pytest.mark.parametrize(("args", "problem"), [
    (["-D", "prot=5353"], "unknown config key `prot`"),
    (["-D", "port=70000"], "`70000` is not a value of type `u16`"),
    (["-D", "port=0"], "`requires` does not hold for `port` = 0"),
    (["--config", "no/such/file.toml"], "cannot read config file"),
])
def test_other_bad_overrides(args: list[str], problem: str) -> None:
    status, out, err = cli("compile", DNS, *args)
    assert status == 1
    assert out == ""
    assert problem in err.splitlines()[0], err


# --- removal reasons in corner cases ------------------------------------------------


def explain_json(tmp_path: Path, source: str, name: str, *args: str) -> list[dict[str, Any]]:
    spec = tmp_path / "app.spec"
    spec.write_text(source, encoding="utf-8")
    status, out, err = cli("explain", str(spec), name, "--json", *args)
    assert status == 0, err
    loaded: list[dict[str, Any]] = json.loads(out)
    return loaded


def test_reason_ignores_a_pruned_arm_when_a_kept_arm_uses_it_too(tmp_path: Path) -> None:
    source = ("unikernel app\ndevices {\n  clk = match target {\n    Target.python => clock()\n"
              "    _ => clock()\n  }\n}\nmain {}\n")
    [clock] = explain_json(tmp_path, source, "clock")
    assert clock["in_image"] is False
    assert clock["decided_by"] is None, clock  # `clk` is never used: `target` is no reason
    assert "`clk`" in clock["reasons"][0], clock


def test_device_used_only_by_a_pruned_function(tmp_path: Path) -> None:
    source = ("unikernel app\nconfig {\n  const verbose: bool = false\n}\n"
              "devices {\n  clk = clock()\n}\n"
              "fn stamp() {\n  print(\"{clk.now()}\")\n}\n"
              "main {\n  if config.verbose {\n    stamp()\n  }\n}\n")
    spec = tmp_path / "app.spec"
    spec.write_text(source, encoding="utf-8")
    status, _, err = cli("compile", str(spec), "--dump-after", "dce")
    assert status == 0, err
    [clk] = explain_json(tmp_path, source, "clk")
    assert clk["decided_by"] is not None and clk["decided_by"]["condition"] == "config.verbose"
    assert "W0003" not in err and "never used" not in err, err


def test_reason_of_a_function_only_called_in_a_dropped_call(tmp_path: Path) -> None:
    source = ("unikernel app\nconfig {\n  param n: u16 = 1\n}\n"
              "devices {\n  log = console_log(LogLevel.info)\n}\n"
              "fn show(n: u16) -> string {\n  return \"n = {n}\"\n}\n"
              "main {\n  log.debug(show(config.n))\n}\n")
    [show] = explain_json(tmp_path, source, "show")
    assert show["in_image"] is False
    assert "never called" not in show["reasons"][0], show
    assert "log.debug" in show["reasons"][0] and "drop" in show["reasons"][0], show


def test_reason_of_a_function_folded_away(tmp_path: Path) -> None:
    source = ("unikernel app\nfn twice(n: u16) -> u16 {\n  return n * 2\n}\n"
              "main {\n  print(\"{twice(21)}\")\n}\n")
    [twice] = explain_json(tmp_path, source, "twice")
    assert twice["in_image"] is False
    assert "never called" not in twice["reasons"][0], twice
    assert "evaluated at compile time" in twice["reasons"][0], twice
