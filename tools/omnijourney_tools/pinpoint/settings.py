"""`import pinpoint settings`: an application's quiet time and journey limits in config/consistency.yaml.

The file is the user's: only the values that change are rewritten, in place, with the comments around them kept.
Campaign limits and hooks have no equivalent (campaigns are not imported): each is reported with what to do.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import yaml

from omnijourney.platform.configfile import ConfigError, YamlDocument
from omnijourney.runtime.consistency import ConsistencyRules
from omnijourney_tools.pinpoint.exports import SETTINGS, Export, ImportRefused, pinpoint_model, read_exports
from omnijourney_tools.pinpoint.outputs import Outputs
from omnijourney_tools.pinpoint.report import MigrationReport, ObjectReport

CONSISTENCY_FILE = "consistency.yaml"
PINPOINT_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# (section, key) of config/consistency.yaml → its new value.
Changes = dict[tuple[str, str], Any]
CAMPAIGN_LIMITS = {
    "Daily": "campaigns are not imported; a campaign rebuilt as a scheduled journey counts towards frequency_cap, "
    "and a daily cap of its own is `settings: {frequency_cap: {messages: N, days: 1}}` in that journey",
    "Total": "campaigns are not imported; a journey sends each of its steps once per run, so its send steps and its "
    "re_entry rule bound what one customer gets from it",
    "MessagesPerSecond": "sending rates are account quotas in omnijourney (SES's sending rate, End User Messaging's "
    "SMS limits): raise them there, nothing to set here",
    "MaximumDuration": "no equivalent: omnijourney never gives up on a message for time (quiet hours defer it, a "
    "held message waits for its guard, up to open_ticket.give_up_after_days)",
    "Session": "in-app messages are not supported: nothing to set",
}


def convert(args: argparse.Namespace, report: MigrationReport, outputs: Outputs) -> None:
    path: Path = args.config / CONSISTENCY_FILE
    exports = read_exports(args.files, SETTINGS)
    if len(exports) > 1:
        raise exports[1].refuse("is a second application's settings: import one application's settings at a time")
    export = exports[0]
    if not path.is_file():
        raise ImportRefused(path, "no such file: the settings go into the project's config/consistency.yaml (--config)")
    text = path.read_text(encoding="utf-8")
    rules = _rules(path, text)
    body = export.body
    reported = report.object("application settings", str(body.get("ApplicationId") or export.file.stem), export.file)
    changes: Changes = {}
    _quiet_time(export, rules, changes, reported)
    _journey_limits(export, rules, changes, reported)
    for key, decision in CAMPAIGN_LIMITS.items():
        if (body.get("Limits") or {}).get(key) is not None:
            reported.decide(f"Limits.{key} ({body['Limits'][key]})", decision)
    _hook(export, reported)
    for key in ("CloudWatchMetricsEnabled", "EventTaggingEnabled"):
        if key in body:
            reported.mapped(key, "always on: the stack's CloudWatch dashboard and alarms, and docs/metrics.md")
    edited = text
    for (section, key), value in changes.items():
        edited = set_value(edited, section, key, value)
    _rules(path, edited)
    changed = ", ".join(f"{section}.{key}" for section, key in changes) or "nothing"
    reported.became = f"config/consistency.yaml ({changed})"
    outputs.add(path, edited, source=str(export.file), edits_existing=True)


def _rules(path: Path, text: str) -> ConsistencyRules:
    try:
        rules: ConsistencyRules = YamlDocument(path, text).validate(ConsistencyRules)
    except ConfigError as error:
        raise ImportRefused(path, f"cannot be loaded, so nothing is changed in it; fix it first:\n{error}") from None
    return rules


def _quiet_time(export: Export, rules: ConsistencyRules, changes: Changes, reported: ObjectReport) -> None:
    quiet = export.body.get("QuietTime") or {}
    if not quiet:
        return
    for key in ("Start", "End"):
        value = quiet.get(key)
        if not isinstance(value, str) or not PINPOINT_TIME.match(value):
            raise export.refuse(
                "should be a time of day as Pinpoint writes it, HH:mm from 00:00 to 23:59 (e.g. 21:30), and "
                "QuietTime needs both Start and End",
                field=f"QuietTime.{key}",
            )
    changes[("quiet_hours", "start")] = quiet["Start"]
    changes[("quiet_hours", "end")] = quiet["End"]
    reported.mapped(f"QuietTime {quiet['Start']}–{quiet['End']}", "quiet_hours start and end")
    held = rules.quiet_hours
    reported.decide(
        "QuietTime",
        "Pinpoint kept every message of every channel back in quiet time, and a campaign did not send what fell in "
        f"it; omnijourney holds {', '.join(held.categories)} messages on {', '.join(held.channels)} only "
        "(quiet_hours.channels and categories) and sends them when the quiet time ends, never drops them: add "
        "channels or categories there to hold more",
    )


def _journey_limits(export: Export, rules: ConsistencyRules, changes: Changes, reported: ObjectReport) -> None:
    limits = export.body.get("JourneyLimits") or {}
    timeframe = limits.get("TimeframeCap") or {}
    daily = limits.get("DailyCap")
    cap: tuple[int, int] | None = None
    if timeframe.get("Cap") and timeframe.get("Days"):
        cap = (int(timeframe["Cap"]), int(timeframe["Days"]))
        reported.mapped(f"JourneyLimits.TimeframeCap ({cap[0]} in {cap[1]} days)", "frequency_cap messages and days")
        if daily:
            reported.decide(
                f"JourneyLimits.DailyCap ({daily})",
                f"omnijourney has one cap across journeys, now {cap[0]} in {cap[1]} days (from TimeframeCap); a "
                f"journey may add its own: `settings: {{frequency_cap: {{messages: {daily}, days: 1}}}}`",
            )
    elif daily:
        cap = (int(daily), 1)
        reported.mapped(f"JourneyLimits.DailyCap ({daily})", "frequency_cap messages, days: 1")
    elif timeframe or daily is not None:
        # 0 is how Pinpoint says there is no cap.
        reported.decide(
            "JourneyLimits",
            f"Pinpoint capped nothing; omnijourney's frequency_cap stays at {rules.frequency_cap.messages} in "
            f"{rules.frequency_cap.days} days: raise it if it should not hold",
        )
    if cap is not None:
        changes[("frequency_cap", "messages")], changes[("frequency_cap", "days")] = cap
        reported.decide(
            "JourneyLimits",
            "omnijourney's frequency_cap counts marketing messages only (transactional and service messages are "
            "never capped), per customer (all their addresses and devices together, where Pinpoint counted each "
            "endpoint), across every journey, over the last days × 24 hours (a rolling window: Pinpoint's daily "
            "cap started again each day); a capped message is held and written to the ledger, not sent later",
        )
    if limits.get("TotalCap"):
        reported.decide(
            f"JourneyLimits.TotalCap ({limits['TotalCap']})",
            "no equivalent: a journey sends each of its steps once per run, so its send steps and its re_entry rule "
            "bound what one customer gets from it",
        )


def _hook(export: Export, reported: ObjectReport) -> None:
    hook = export.body.get("CampaignHook") or {}
    if not hook:
        return
    mode = hook.get("Mode")
    allowed: list[str] = pinpoint_model().shape_for("Mode").enum
    if mode is not None and mode not in allowed:
        raise export.refuse(
            f"{mode!r} is not one of Pinpoint's Mode values: {', '.join(allowed)}", field="CampaignHook.Mode"
        )
    target = hook.get("LambdaFunctionName") or hook.get("WebUrl") or "none"
    reported.decide(
        f"CampaignHook ({mode or 'no mode'}: {target})",
        "campaigns are not imported, nor their hook: what a FILTER hook decided belongs in a journey's audience or "
        "a segment, what a DELIVERY hook sent needs a channel of its own",
    )


# Editing config/consistency.yaml in place ------------------------------------------------------------------

COMMENT = re.compile(r"\s+#.*$")


def set_value(text: str, section: str, key: str, value: Any) -> str:
    """`text` with `section.key` set to `value`: the line holding it rewritten (its comment kept), the key added to
    its section, or the section added at the end. A section written in flow style (`frequency_cap: {messages: 4,
    days: 7}`) stays in flow style."""
    lines = text.splitlines()
    written = _scalar(value)
    at = next((n for n, line in enumerate(lines) if re.match(rf"^{re.escape(section)}:(\s|$)", line)), None)
    if at is None:
        return "\n".join([*lines, f"{section}:", f"  {key}: {written}"]) + "\n"
    head = lines[at]
    comment = COMMENT.search(head)
    inline = (COMMENT.sub("", head) if comment else head)[len(section) + 1 :].strip()
    if inline:
        mapping = yaml.safe_load(inline)
        mapping[key] = value
        flow = ", ".join(f"{name}: {_scalar(item)}" for name, item in mapping.items())
        lines[at] = f"{section}: {{{flow}}}" + (comment.group(0) if comment else "")
        return "\n".join(lines) + "\n"
    indent: int | None = None
    for n in range(at + 1, len(lines)):
        line = lines[n]
        if line.strip() and not line.startswith((" ", "\t", "#")):
            break
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        # The section's own keys, not those of a mapping inside it.
        indent = indent if indent is not None else len(line) - len(line.lstrip())
        found = re.match(rf"^( {{{indent}}}){re.escape(key)}:\s*(.*)$", line)
        if found:
            kept = COMMENT.search(found.group(2))
            lines[n] = f"{found.group(1)}{key}: {written}" + (kept.group(0) if kept else "")
            return "\n".join(lines) + "\n"
    lines.insert(at + 1, f"{' ' * (indent or 2)}{key}: {written}")
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    # A time of day is quoted: YAML 1.1 reads 21:00 as a number (sexagesimal).
    return json.dumps(value) if isinstance(value, str) else str(value)
