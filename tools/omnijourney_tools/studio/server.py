"""The studio on the local servers' HTTP layer (serve.listener: uvicorn with request deadlines, a connection limit
and an access log without query strings), on a loopback socket of its own (port 0: a free one, announced on
stdout)."""

from __future__ import annotations

import secrets
from pathlib import Path

from omnijourney.platform.configfile import journeys_dir
from omnijourney_tools.folders import definitions_from
from omnijourney_tools.serve import listener
from omnijourney_tools.studio import LOOPBACK
from omnijourney_tools.studio.app import studio_app


def serve(port: int, *, journeys: Path | None, config: Path | None) -> None:
    """Serve until Ctrl-C, over `journeys` (default: the project's) with the definitions of `config`."""
    with definitions_from(config_dir=config, journeys_dir=journeys):
        folder = journeys_dir().resolve()
        # A new token each start: a page served before a restart must be reloaded before it can change anything.
        app = studio_app(folder, token=secrets.token_urlsafe(32))
        listener.run(app, LOOPBACK, port, lambda url: print(f"studio listening on {url} over {folder}", flush=True))
