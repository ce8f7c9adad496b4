"""Traces carry ids only: an exception escaping a traced handler is recorded by its type, never its message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_xray_sdk import global_sdk_config  # type: ignore[import-untyped]

from omnijourney.platform.tracing import LazyRecorder, _recorder


class KeptEntities:
    """An X-Ray emitter that keeps what would be sent to the daemon."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_entity(self, entity: Any) -> None:
        self.sent.append(entity.serialize())

    def set_daemon_address(self, address: str) -> None:
        pass


@pytest.fixture
def xray_enabled() -> Iterator[None]:
    """Powertools' Tracer turns the SDK off process-wide when tracing is disabled, as it is in the other tests."""
    was = global_sdk_config.sdk_enabled()
    global_sdk_config.set_sdk_enabled(True)
    yield
    global_sdk_config.set_sdk_enabled(was)


@pytest.mark.usefixtures("xray_enabled")
def test_an_escaping_error_is_traced_by_its_type_without_its_message() -> None:
    recorder = _recorder()
    emitter = KeptEntities()
    recorder.configure(emitter=emitter, sampling=False, context_missing="LOG_ERROR")
    recorder.begin_segment("journey-step")
    with pytest.raises(RuntimeError), LazyRecorder().in_subsegment(name="## lambda_handler") as subsegment:
        raise RuntimeError("Email address is not verified: lena.fischer@example.com")
    traced = json.dumps(subsegment.to_dict())
    recorder.end_segment()
    assert subsegment.fault
    assert subsegment.annotations == {"error_type": "RuntimeError"}
    assert "lena" not in traced
    assert all("lena" not in entity for entity in emitter.sent)
