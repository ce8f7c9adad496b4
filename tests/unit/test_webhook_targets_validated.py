"""`journeys validate` checks a webhook send's target against the config/webhooks.yaml in use (a marketer's copy given
with --config too), and leaves it unjudged when that file cannot be read: its own loader reports that file."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnijourney.app import config
from omnijourney.journeys.catalog import load_journeys
from omnijourney.platform.configfile import ConfigError
from omnijourney.platform.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
TO_THE_ORDER_DESK = "journeys/b2b_cart_to_sales.yaml"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the shipped config/, in use."""
    copied = tmp_path / "config"
    shutil.copytree(ROOT / "config", copied)
    monkeypatch.setenv("OMNIJOURNEY_CONFIG_DIR", str(copied))
    get_settings.cache_clear()
    config.clear()
    yield copied
    monkeypatch.delenv("OMNIJOURNEY_CONFIG_DIR")
    get_settings.cache_clear()
    config.clear()


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_journeys([path])
    return [str(problem).removeprefix(f"{problem.path}:") for problem in error.value.problems]


def test_a_target_the_config_in_use_lacks_is_an_error_listing_those_it_has(folder: Path) -> None:
    (folder / "webhooks.yaml").write_text(
        "targets:\n  warehouse:\n    url: https://wms.example.com/hooks\n"
        '    secret: {ssm: "/omnijourney/{stage}/webhook-targets/warehouse"}\n    reaches_customer: false\n'
    )
    assert problems(ROOT / TO_THE_ORDER_DESK) == [
        f"33:7: steps[1].send.target: no webhook target 'order_desk' in {folder / 'webhooks.yaml'}; it has warehouse"
    ]


def test_without_a_webhooks_file_no_target_exists(folder: Path) -> None:
    (folder / "webhooks.yaml").unlink()
    assert problems(ROOT / TO_THE_ORDER_DESK) == [
        f"33:7: steps[1].send.target: no webhook target 'order_desk' in {folder / 'webhooks.yaml'}"
    ]


def test_a_webhooks_file_that_cannot_be_read_leaves_targets_unjudged(folder: Path) -> None:
    (folder / "webhooks.yaml").write_text("targets: [order_desk\n")
    assert list(load_journeys([ROOT / TO_THE_ORDER_DESK]).journeys) == ["b2b_cart_to_sales"]
