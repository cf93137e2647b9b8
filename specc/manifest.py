"""`manifest.json`: what went into an image and what was left out, and why.

Byte-identical for the same inputs: keys keep declaration order, sets are
sorted, and the shipped prelude is named `<prelude>` rather than by where
it is installed.  Every input path has one base: the directory of the
application spec (so the manifest reads the same from any working
directory), with `/` separators.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from specc import __version__
from specc.check.loader import prelude_path
from specc.driver import Compilation
from specc.passes.branches import Decision
from specc.span import Span
from specc.values import to_json


def display_path(path: str) -> str:
    return "<prelude>" if path == prelude_path() else path


def position(span: Span | None, base: str | None = None) -> dict[str, Any] | None:
    """Where ``span`` is; its file relative to ``base`` when given (the
    manifest), else as the diagnostics name it (`explain`)."""
    if span is None:
        return None
    file = display_path(span.file) if base is None or span.file.startswith("<") else \
        input_path(span.file, base)
    return {"file": file, "line": span.line, "column": span.column}


def decision_json(decision: Decision | None, base: str | None = None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {"condition": decision.condition, "value": decision.value,
            "at": position(decision.span, base)}


def input_path(path: str, base: str) -> str:
    """``path`` (as opened) relative to ``base``, the spec's directory."""
    if path == prelude_path():
        return "<prelude>"
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(base))
    return relative.replace(os.sep, "/")


def build_manifest(c: Compilation) -> dict[str, Any]:
    program, config, graph, folded, reachable = c.program, c.config, c.graph, c.folded, \
        c.reachable
    assert program is not None and config is not None and graph is not None
    assert folded is not None and reachable is not None
    base = os.path.dirname(program.root.path)
    inputs = []
    for path, source in program.sources.items():
        if path.startswith("<"):
            continue
        inputs.append({"path": input_path(path, base),
                       "sha256": hashlib.sha256(source.text.encode("utf-8")).hexdigest()})
    for path, digest in c.data.files.items():  # zones and baked directories
        inputs.append({"path": input_path(path, base), "sha256": digest})
    keys: dict[str, Any] = {}
    for name, info in program.config.items():
        entry: dict[str, Any] = {"kind": info.decl.kind.value, "type": str(info.type)}
        if name in config.values:
            entry["value"] = to_json(config.values[name])
            entry["source"] = config.sources[name]
        elif name in config.param_defaults:
            entry["default"] = to_json(config.param_defaults[name])
            entry["source"] = "boot"
        keys[name] = entry
    instances = []
    for key in reachable.instances:
        instance = graph.instances[key]
        instances.append({
            "key": key,
            "component": instance.component,
            "devices": instance.names,
            "via": instance.via,
            "args": {k: to_json(v) for k, v in instance.const_args},
            "uses": dict(instance.device_args),
            "operations": sorted(reachable.operations.get(key, set())),
        })
    removed = [{"kind": r.kind, "name": r.name, "reason": r.reason,
                "decided_by": decision_json(r.decision, base),
                "declared_at": position(r.span, base)}
               for r in reachable.removed]
    dropped = [{"call": f"{d.device}.{d.op}", "at": position(d.span, base)}
               for d in folded.dropped_calls]
    unikernel = program.unikernel.name if program.unikernel else None
    unspecialized = None if c.unspecialized is None else \
        {"boot": c.unspecialized.boot, "constant": c.unspecialized.kept,
         "linked": c.unspecialized.linked, "not_linked": c.unspecialized.not_linked}
    return {
        "specc": __version__,
        "unikernel": unikernel,
        "target": program.target,
        "inputs": inputs,
        "config": keys,
        "instances": instances,
        "functions": reachable.functions,
        "removed": removed,
        "dropped_calls": dropped,
        **({"unspecialized": unspecialized} if unspecialized is not None else {}),
        **({"runtime": runtime_parts(c)} if c.image is not None and
           c.image.target != "python" else {}),
    }


def runtime_parts(c: Compilation) -> list[dict[str, Any]]:
    """What of the C runtime the image compiles in, and why (backends/c/features.py)."""
    from specc.backends.c.features import features

    assert c.image is not None
    return features(c.image).to_json()


def image_report(image: str) -> dict[str, Any]:
    """The built image: its name, size and SHA-256, and for an ELF image (the
    C targets) the sizes of its sections."""
    with open(image, "rb") as handle:
        data = handle.read()
    report: dict[str, Any] = {"file": os.path.basename(image), "bytes": len(data),
                              "sha256": hashlib.sha256(data).hexdigest()}
    if data.startswith(b"\x7fELF"):
        import io

        from elftools.elf.elffile import ELFFile

        sizes: dict[str, int] = {}
        for section in ELFFile(io.BytesIO(data)).iter_sections():
            if section.name in (".text", ".rodata", ".data", ".bss"):
                sizes[section.name.lstrip(".")] = int(section["sh_size"])
        report["sections"] = sizes
    return report


def write_manifest(manifest: dict[str, Any], directory: str) -> str:
    """Write ``manifest`` as ``directory/manifest.json`` (atomically)."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "manifest.json")
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)
    return path
