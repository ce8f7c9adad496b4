"""`omnijourney studio` in a subprocess on a free port, over a copy of journeys/ and config/ in a git checkout of its
own, for the browser tests and `make screenshots`."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.processes import first_line, log_tail

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
STARTUP_SECONDS = 60
STOP_SECONDS = 20
# A marketer's draft with a typo: the journeys page must show its errors without hiding the other journeys.
DRAFT = "draft_with_a_typo"
DRAFT_TEXT = """\
journey: draft_with_a_typo
entry: {event: order_completed}
steps:
  - id: thanks
    send: {channel: email, template: thank_you_email, categroy: transactional}
"""


@dataclass(frozen=True)
class Studio:
    url: str
    journeys: Path


def working_copy(into: Path, *, draft: bool = True) -> Path:
    """journeys/ (with a draft that has a typo, unless `draft` is False) and config/ copied into a fresh git checkout:
    its first commit is what a pull request would be proposed against."""
    for folder in ("journeys", "config"):
        shutil.copytree(ROOT / folder, into / folder)
    if draft:
        (into / "journeys" / f"{DRAFT}.yaml").write_text(DRAFT_TEXT, encoding="utf-8")
    git = ["git", "-C", str(into), "-c", "user.name=Studio Test", "-c", "user.email=studio@example.com"]
    subprocess.run([*git, "init", "--quiet"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "--quiet", "--message", "the marketer's clone"], check=True)
    return into


@contextmanager
def studio_over(copy: Path) -> Iterator[Studio]:
    """The studio over `copy`'s journeys/ and config/, stopped with SIGINT (Ctrl-C) at the end, which it must take
    cleanly."""
    journeys = copy / "journeys"
    command = ["studio", "--port", "0", "--journeys", str(journeys), "--config", str(copy / "config")]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "omnijourney_tools.cli", *command], stdout=subprocess.PIPE, stderr=log, text=True
        )
        try:
            announced = first_line(process, STARTUP_SECONDS)
            address = re.search(r"listening on (http://\S+)", announced)
            assert address, f"the studio did not start: {announced!r}\n{log_tail(log)}"
            yield Studio(address.group(1), journeys)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                status = process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
        assert status == 0, f"the studio did not stop cleanly (exit {status}):\n{log_tail(log)}"


def serious_violations(page: Page) -> list[str]:
    """What axe-core finds serious or critical on the page as it is now, one finding a line."""
    return [
        f"{found['id']} ({found['impact']}): {found['help']} at {[node['target'] for node in found['nodes']]}"
        for found in Axe().run(page).response["violations"]
        if found["impact"] in ("serious", "critical")
    ]
