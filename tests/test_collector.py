"""check_source pauses the cyclic garbage collector while it runs and leaves
it as it found it (specc/collector.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from specc import collector
from specc.api import check_source
from specc.ast import Module
from specc.diagnostics import DiagnosticSink
from specc.span import SourceFile
from specc.syntax.parser import parse_module

SPEC = 'unikernel app\nmain {\n  print("hi")\n}\n'


@pytest.fixture
def restore_gc() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
def test_paused_during_the_check_and_restored_after(enabled: bool, restore_gc: None) -> None:
    if enabled:
        gc.enable()
    else:
        gc.disable()
    seen: list[bool] = []

    def parse(source: SourceFile, sink: DiagnosticSink) -> Module:
        seen.append(gc.isenabled())
        return parse_module(source, sink)

    result = check_source(SPEC, "app.spec", parse=parse)
    assert result.diagnostics == []
    assert seen == [False]
    assert gc.isenabled() is enabled


def test_restored_after_a_failed_check(restore_gc: None) -> None:
    gc.enable()

    def parse(source: SourceFile, sink: DiagnosticSink) -> Module:
        raise KeyboardInterrupt  # not turned into a diagnostic: it goes up

    with pytest.raises(KeyboardInterrupt):
        check_source(SPEC, "app.spec", parse=parse)
    assert gc.isenabled()


def test_nested_pauses_resume_at_the_last(restore_gc: None) -> None:
    gc.enable()
    collector.pause()
    collector.pause()
    collector.resume()
    assert not gc.isenabled()
    collector.resume()
    assert gc.isenabled()
