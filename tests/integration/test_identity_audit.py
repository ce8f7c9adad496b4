"""`omnijourney identities audit`: the profiles already linked through identifiers the rules now refuse."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from omnijourney.app import config
from omnijourney.platform.settings import get_settings
from omnijourney_tools.cli import main
from tests.conftest import ROOT, delivery, sample, signed
from tests.integration.conftest import Harness

SHARED_TEST_ADDRESS = "test@test.com"


@contextmanager
def rules_without_placeholders(folder: Path) -> Iterator[None]:
    """The shop's config as it was before test@test.com was listed: what the stored data was linked under."""
    shutil.copytree(ROOT / "config", folder)
    (folder / "identifiers.yaml").write_text("placeholders: {}\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNIJOURNEY_CONFIG_DIR", str(folder))
        get_settings.cache_clear()
        config.clear()
        try:
            yield
        finally:
            patch.undo()
            get_settings.cache_clear()
            config.clear()


def identify(harness: Harness, anonymous_id: str, message_id: str, **traits: str) -> None:
    message = sample("segment", "identify_app") | {"anonymousId": anonymous_id, "messageId": message_id}
    message |= {"userId": None, "traits": traits}
    status, body = harness.deliver(signed(delivery("segment", "identify_app", body=json.dumps(message).encode())))
    assert status == 202, body


def test_the_audit_lists_the_customer_merged_through_a_shared_test_address(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with rules_without_placeholders(tmp_path / "config"):
        identify(harness, "device-of-ana", "identify-ana", email=SHARED_TEST_ADDRESS)
        identify(harness, "device-of-ben", "identify-ben", loyalty_id="LOY-300002")
        assert len(harness.live_profiles()) == 2
        identify(harness, "device-of-ben", "identify-ben-again", email=SHARED_TEST_ADDRESS)
        [merged] = harness.live_profiles()  # two strangers, one profile: what the audit is for
    identify(harness, "device-of-lena", "identify-lena", email="lena.fischer@example.com")
    capsys.readouterr()

    assert main(["identities", "audit"]) == 1

    printed = capsys.readouterr().out
    assert printed.splitlines() == [
        f"{merged.customer_id}: email t…m (13 characters): placeholder, 1 profile(s) merged into it",
        "1 identifier(s) on 1 customer(s) refused or spelled differently now; review their merges",
    ]
    assert SHARED_TEST_ADDRESS not in printed


def test_an_audit_of_clean_identities_finds_nothing(harness: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    identify(harness, "device-of-lena", "identify-lena", email="lena.fischer@example.com", phone="+49 151 23456789")
    assert main(["identities", "audit"]) == 0
    assert (
        capsys.readouterr().out
        == "0 identifier(s) on 0 customer(s) refused or spelled differently now; review their merges\n"
    )


def test_the_audit_lists_a_stored_identifier_todays_rules_write_differently(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    # Stored before emails were normalised as they are now: an event carrying this address claims
    # `email#lena@bücher.de`, so the stored key links nobody new and the same person may get a second profile.
    from omnijourney.profiles.store import IdentityRecord

    identify(harness, "device-of-lena", "identify-lena", email="lena.fischer@example.com")
    [lena] = harness.live_profiles()
    IdentityRecord("email#lena@xn--bcher-kva.de", customer_id=lena.customer_id).save()
    capsys.readouterr()

    assert main(["identities", "audit"]) == 1

    printed = capsys.readouterr().out
    assert printed.splitlines() == [
        f"{lena.customer_id}: email l…e (21 characters): renormalised",
        "1 identifier(s) on 1 customer(s) refused or spelled differently now; review their merges",
    ]
    assert "bcher" not in printed
    assert "bücher" not in printed
