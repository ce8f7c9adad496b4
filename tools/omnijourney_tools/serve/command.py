"""The `omnijourney serve` subcommand; the server itself is imported only when it runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from omnijourney_tools.serve import DEFAULT_HOST, DEFAULT_PORT


def add_command(commands: Any) -> None:
    """Add `serve` to the CLI's subparsers."""
    serve = commands.add_parser(
        "serve",
        help="the whole backend on moto behind a local HTTP server, for real clients (Ctrl-C stops)",
        description="Webhooks, the profile API and Segment's Tracking API on localhost, answered by the same handlers "
        "as on AWS; journeys run in real time, or --speed times faster.",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"0 picks a free one (default {DEFAULT_PORT})")
    serve.add_argument(
        "--speed",
        type=_positive,
        default=1.0,
        help="journeys run this many times faster than real time: at 3600 the abandoned-cart journey's hour passes "
        "in a second (default 1)",
    )
    serve.add_argument("--config", type=Path, help="config directory (default: the project's config/)")
    serve.add_argument(
        "--deliver-webhooks",
        action="store_true",
        help="POST the journeys' webhooks to the URLs of config/webhooks.yaml, signed with the local secret it prints "
        "(default: a receiver in the server takes them)",
    )


def run(args: argparse.Namespace) -> int:
    from omnijourney_tools.serve.server import serve  # lazy: the server loads moto, which `--help` need not

    if args.config is not None and not args.config.is_dir():
        print(f"no such folder: {args.config}", file=sys.stderr)
        return 2
    serve(args.host, args.port, args.speed, config=args.config, deliver_webhooks=args.deliver_webhooks)
    return 0


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value
