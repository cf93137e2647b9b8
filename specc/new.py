"""``specc new DIR``: a starting spec and its data, from one of three templates.

Each template is a whole application that checks, builds and runs on every
target (tests/test_new.py builds each for hvt, unix and python and asks it)
and is in the layout ``specc fmt`` prints.  Nothing that exists is ever
overwritten: if any file the template would write is there already,
nothing is written at all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

TEMPLATES = ("udp", "dns", "http")
DEFAULT_TEMPLATE = "udp"

_UDP = '''\
## {name}: a UDP service. Every datagram gets a reply; change `reply` to
## make it do something else.
unikernel {name} "UDP service"

config {{
  ## UDP port to listen on (`specc compile -D port=9000`).
  const port: u16 = 7007 requires port != 0
  ## Address of the image on hvt (hosted targets use the host's).
  const address: Cidr = 10.0.0.2/24
  ## Log messages below this level are removed from the image.
  const log_level: LogLevel = LogLevel.info
}}

devices {{
  ip = match target {{
    Target.hvt => static_ipv4(ethernet(virtio_net()), config.address)
    _          => host_ip()
  }}
  udp4 = udp(ip)
  log  = console_log(config.log_level)
}}

## The reply to one datagram: its payload, back to the sender.
fn reply(d: Datagram) -> bytes? {{
  log.debug("{{len(d.payload)}} bytes from {{d.src}}:{{d.src_port}}")
  return some(d.payload)
}}

main {{
  log.info("{name} on udp port {{config.port}}")
  udp4.listen(config.port, reply)
}}
'''

_DNS = '''\
## {name}: an authoritative DNS server for the zone in zones/{name}.zone,
## whose answers are computed when the image is compiled.
unikernel {name} "authoritative DNS"

config {{
  ## The zone to serve; read and checked at compile time.
  const zone: Zone = zonefile("zones/{name}.zone")
  ## DNS port to listen on (`specc compile -D port=53`).
  const port: u16 = 5353 requires port != 0
  ## Address of the image on hvt (hosted targets use the host's).
  const address: Cidr = 10.0.0.2/24
  ## Log messages below this level are removed from the image.
  const log_level: LogLevel = LogLevel.info
  ## The largest UDP answer, read at boot (`--max-udp=1232`).
  param max_udp: u16 = 1232 requires max_udp >= 512
}}

devices {{
  ip = match target {{
    Target.hvt => static_ipv4(ethernet(virtio_net()), config.address)
    _          => host_ip()
  }}
  udp4 = udp(ip)
  db   = dns_zone(config.zone)
  log  = console_log(config.log_level)
}}

fn answer(d: Datagram) -> bytes? {{
  return db.answer(d.payload, config.max_udp)
}}

main {{
  log.info("serving {{config.zone.origin}} on port {{config.port}}")
  udp4.listen(config.port, answer)
}}
'''

_ZONE = '''\
; The zone {name}.spec serves (RFC 1035 master file format). Addresses are
; from the documentation ranges (RFC 5737, RFC 3849).
$ORIGIN example.test.
$TTL 3600

@     IN  SOA   ns1 hostmaster 1 7200 3600 1209600 300
@     IN  NS    ns1
@     IN  A     192.0.2.1
ns1   IN  A     192.0.2.53
www   IN  A     192.0.2.80
www   IN  AAAA  2001:db8::80
mail  IN  A     192.0.2.25
@     IN  MX    10 mail
@     IN  TXT   "made with specc new"
'''

_HTTP = '''\
## {name}: a static web site. The files of site/ are baked into the image
## when it is compiled.
unikernel {name} "static web site"

config {{
  ## TCP port to serve HTTP on (`specc compile -D port=80`).
  const port: u16 = 8080 requires port != 0
  ## Address of the image on hvt (hosted targets use the host's).
  const address: Cidr = 10.0.0.2/24
  ## The files to serve.
  const site: Files = dir("site")
  ## Log messages below this level are removed from the image.
  const log_level: LogLevel = LogLevel.info
}}

devices {{
  ip = match target {{
    Target.hvt => static_ipv4(ethernet(virtio_net()), config.address)
    _          => host_ip()
  }}
  tcp4  = tcp(ip)
  files = kv_ro(config.site)
  web   = http_server(tcp4, files)
  log   = console_log(config.log_level)
}}

main {{
  log.info("serving {{len(files.keys())}} files on port {{config.port}}")
  web.serve(config.port)
}}
'''

_INDEX = '''\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{name}</title></head>
<body>
<h1>{name}</h1>
<p>Served by a specc unikernel. Edit site/index.html and compile again.</p>
</body>
</html>
'''


@dataclass(frozen=True)
class NewResult:
    written: list[str]  # paths, in the order written
    refused: list[str]  # files that exist already (then nothing is written)
    spec: str  # the spec's path


def unikernel_name(directory: str) -> str:
    """A unikernel name from the directory's name (`my-app` -> `my_app`)."""
    base = os.path.basename(os.path.normpath(os.path.abspath(directory)))
    name = re.sub(r"\W", "_", base, flags=re.ASCII).strip("_").lower()
    if not name or not (name[0].isalpha()):
        name = f"app_{name}" if name else "app"
    return name


def template_files(template: str, name: str) -> dict[str, str]:
    """The files of ``template`` (paths relative to the directory) and their text."""
    values = {"name": name}
    if template == "udp":
        return {f"{name}.spec": _UDP.format(**values)}
    if template == "dns":
        return {f"{name}.spec": _DNS.format(**values), f"zones/{name}.zone": _ZONE.format(**values)}
    if template == "http":
        return {f"{name}.spec": _HTTP.format(**values), "site/index.html": _INDEX.format(**values)}
    raise ValueError(f"unknown template {template!r}; the templates are {', '.join(TEMPLATES)}")


def create(directory: str, template: str = DEFAULT_TEMPLATE) -> NewResult:
    """Write ``template`` into ``directory`` (created if missing), unless a
    file it would write exists already; then write nothing."""
    name = unikernel_name(directory)
    files = template_files(template, name)
    paths = {os.path.join(directory, relative): text for relative, text in files.items()}
    spec = os.path.join(directory, f"{name}.spec")
    refused = [path for path in paths if os.path.lexists(path)]
    if refused:
        return NewResult([], refused, spec)
    written: list[str] = []
    for path, text in paths.items():
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        # "x": fail rather than overwrite, even if the file appeared just now.
        with open(path, "x", encoding="utf-8") as handle:
            handle.write(text)
        written.append(path)
    return NewResult(written, [], spec)
