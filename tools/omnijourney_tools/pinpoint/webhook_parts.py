"""What an imported CUSTOM activity needs besides its step: its URL as a target of config/webhooks.yaml (added to
the user's file, whose own text stays) and the JSON template its webhook sends (`journeys/templates/`)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import yaml

from omnijourney.channels.targets import OutboundConfig
from omnijourney_tools.pinpoint.activities import CustomPayload, CustomTarget
from omnijourney_tools.pinpoint.exports import ImportRefused
from omnijourney_tools.pinpoint.outputs import IMPORTED_MARK

TARGETS_KEY = "targets:"
NEW_FILE = f'# Where the outbound channels deliver (docs/journeys.md, "Webhooks and sales tasks").\n{TARGETS_KEY}\n'


def with_targets(path: str, existing: str | None, targets: Mapping[str, CustomTarget]) -> str | None:
    """config/webhooks.yaml with the targets it lacks added under `targets:` (None when it has them all already):
    the file's own lines stay as they are, and the result is checked as the channels will read it."""
    text = existing if existing is not None else NEW_FILE
    known = (yaml.safe_load(text) or {}).get("targets") or {}
    missing = {name: target for name, target in targets.items() if name not in known}
    if not missing:
        return None
    lines = text.splitlines()
    if TARGETS_KEY not in lines:
        if any(line.startswith("targets") for line in lines):
            raise ImportRefused(path, "writes `targets` in a way this import cannot add to: use a block (targets:)")
        lines += ["", TARGETS_KEY]
    at = lines.index(TARGETS_KEY) + 1
    lines[at:at] = [line for name, target in missing.items() for line in _target_lines(name, target)]
    merged = "\n".join(lines) + "\n"
    OutboundConfig.model_validate(yaml.safe_load(merged))
    return merged


def _target_lines(name: str, target: CustomTarget) -> list[str]:
    reach = (
        ["    reaches_customer: true", f"    consent_channel: {target.consent_channel}"]
        if target.consent_channel
        else ["    reaches_customer: false"]
    )
    return [
        f"  {name}:  # imported from Pinpoint's CUSTOM activity `{target.activity}`",
        f"    url: {json.dumps(target.url)}",  # a JSON string is a YAML one
        f'    secret: {{ssm: "/omnijourney/{{stage}}/webhook-targets/{name}"}}',
        *reach,
    ]


def payload_template(journey: str, payload: CustomPayload) -> str:
    """The JSON template of a CUSTOM activity's webhook: Pinpoint's Data as it was, the customer and the journey."""
    body: dict[str, object] = {"customer_id": "{{ customer_id }}", "journey": journey}
    if payload.data is not None:
        body["data"] = payload.data
    document = {"channel": "webhook", "json": body}
    return (
        "\n".join(
            [
                IMPORTED_MARK,
                f"# The payload of Pinpoint's CUSTOM activity `{payload.activity}` of journey `{journey}`: its Data as",
                "# Pinpoint sent it, and who it is for; every text is a template, what is sent is always JSON.",
                yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120).rstrip(),
            ]
        )
        + "\n"
    )
