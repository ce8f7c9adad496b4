"""The `omnijourney studio` subcommand; the web stack is imported only when it runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from omnijourney_tools.studio import DEFAULT_PORT, LOOPBACK


def add_command(commands: Any) -> None:
    """Add `studio` to the CLI's subparsers."""
    studio = commands.add_parser(
        "studio",
        help="the journeys as web pages: status, pictures, an editor that checks as you type (Ctrl-C stops)",
        description=f"A local web app over the working tree, on http://{LOOPBACK}:PORT only: saving writes "
        "journeys/<name>.yaml; publishing stays a pull request.",
    )
    studio.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"0 picks a free one (default {DEFAULT_PORT})")
    studio.add_argument("--journeys", type=Path, help="journeys directory (default: the project's journeys/)")
    studio.add_argument("--config", type=Path, help="config directory (default: the project's config/)")


def run(args: argparse.Namespace) -> int:
    from omnijourney_tools.studio.front_end import FrontEndMissing
    from omnijourney_tools.studio.server import serve  # lazy: starlette and uvicorn, which `--help` need not

    missing = [str(folder) for folder in (args.journeys, args.config) if folder is not None and not folder.is_dir()]
    if missing:
        print(f"no such folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        serve(args.port, journeys=args.journeys, config=args.config)
    except FrontEndMissing as missing:
        print(missing, file=sys.stderr)
        return 2
    return 0
