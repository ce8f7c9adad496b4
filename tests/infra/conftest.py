"""One synth for every infra test module (a synth takes half a minute)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import cx_api

from tests.infra.synthesized import STACK, synthesize


@pytest.fixture(scope="session")
def assembly() -> cx_api.CloudAssembly:
    return synthesize()


@pytest.fixture(scope="session")
def template(assembly: cx_api.CloudAssembly) -> dict[str, Any]:
    return dict(assembly.get_stack_by_name(STACK).template)
