"""What a message says: the email subject and text, the webhook's JSON document and the sms template's
placeholder values, for one delivery (a notice, an escalation, a digest or a test)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote_plus

from dtwin.contracts.alarms import priority_rank
from dtwin.notifications.channels import Delivery
from dtwin.notifications.schemas import PLACEHOLDER_RE, PLACEHOLDERS

WORDS = {
    "raised": "Raised",
    "acknowledged": "Acknowledged",
    "cleared": "Cleared",
    "closed": "Closed",
    "shelved": "Shelved",
    "unshelved": "Unshelved",
    "suppressed": "Suppressed",
    "unsuppressed": "Unsuppressed",
    "out_of_service": "Out of service",
    "in_service": "In service",
    "commented": "Comment",
}
DIGEST_LINES = 50  # a digest's text lists at most this many notices (its JSON has them all)
_SPACE = re.compile(r"\s+")


def _notice(payload: dict[str, Any]) -> dict[str, Any]:
    notice: dict[str, Any] = payload.get("notice") or {}
    return notice


def _one_line(text: object, limit: int = 300) -> str:
    line = _SPACE.sub(" ", str(text)).strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _headline(kind: str, tier: int, notice: dict[str, Any]) -> str:
    message = _one_line(notice.get("message", ""))
    if kind == "escalation":
        return f"Escalation (tier {tier}), still unacknowledged: {message}"
    if kind == "test":
        return f"Test: {message}"
    return f"{WORDS.get(str(notice.get('transition')), 'Alarm')}: {message}"


def _top_priority(members: list[dict[str, Any]]) -> str:
    priorities = [str(_notice(m).get("priority", "low")) for m in members] or ["low"]
    return min(priorities, key=priority_rank)


def subject(d: Delivery) -> str:
    if d.kind == "digest":
        top = _top_priority(d.members).upper()
        return f"[dtwin {top}] {len(d.members)} alarm notifications ({d.route.name})"
    notice = _notice(d.payload)
    return _one_line(f"[dtwin {str(notice.get('priority', '')).upper()}] {_headline(d.kind, d.tier, notice)}")


def _details(notice: dict[str, Any]) -> list[str]:
    place = " / ".join(str(notice[k]) for k in ("site", "line") if notice.get(k))
    rows = [
        ("Machine", f"{notice.get('machine_id')} ({notice.get('machine_type') or 'type unknown'})"),
        ("Where", place or None),
        ("Priority", notice.get("priority")),
        ("Condition", notice.get("condition")),
        ("Source", notice.get("source")),
        ("State", notice.get("state")),
        ("Value", notice.get("value")),
        ("Raised at", notice.get("raised_at")),
        ("This transition", f"{notice.get('transition')} at {notice.get('ts')}"),
        ("By", notice.get("actor")),
        ("Comment", notice.get("comment")),
        ("Alarm id", notice.get("alarm_id")),
    ]
    return [f"{name}: {_one_line(value, 500)}" for name, value in rows if value is not None]


def text(d: Delivery) -> str:
    """The plain-text body of an email."""
    if d.kind == "digest":
        lines = [
            f"{len(d.members)} alarm notifications for route {d.route.name} were collected into this one "
            "message (more than the digest threshold within its window).",
            "",
        ]
        for m in d.members[:DIGEST_LINES]:
            notice = _notice(m)
            lines.append(
                f"- [{str(notice.get('priority', '')).upper()}] {notice.get('ts')} "
                f"{notice.get('machine_id')}: {_headline(str(m.get('kind')), int(m.get('tier', 1)), notice)}"
            )
        if len(d.members) > DIGEST_LINES:
            lines.append(f"... and {len(d.members) - DIGEST_LINES} more")
    else:
        notice = _notice(d.payload)
        lines = [_headline(d.kind, d.tier, notice), "", *_details(notice)]
    lines += ["", f"Route: {d.route.name} (tier {d.tier})", f"Notification: {d.id}, key {d.key}"]
    return "\n".join(lines) + "\n"


def document(d: Delivery) -> dict[str, Any]:
    """The webhook's JSON body."""
    doc: dict[str, Any] = {
        "type": f"alarm.{d.kind}" if d.kind != "test" else "test",
        "id": d.id,
        "idempotency_key": d.key,
        "route": d.route.name,
        "tier": d.tier,
        "summary": subject(d),
    }
    if d.kind == "digest":
        doc["count"] = len(d.members)
        doc["items"] = d.members
    else:
        doc["notice"] = _notice(d.payload)
    return doc


def placeholders(d: Delivery) -> dict[str, str]:
    """The values of an sms template's placeholders (a digest: its count, the most urgent priority, and
    its first notices as the message)."""
    if d.kind == "digest":
        newest = _notice(d.members[-1]) if d.members else {}
        shown = "; ".join(_one_line(_notice(m).get("message", ""), 80) for m in d.members[:3])
        more = f" (+{len(d.members) - 3} more)" if len(d.members) > 3 else ""
        values: dict[str, Any] = {
            **newest,
            "message": f"{len(d.members)} alarms: {shown}{more}",
            "priority": _top_priority(d.members),
            "count": len(d.members),
        }
    else:
        notice = _notice(d.payload)
        values = {**notice, "message": _headline(d.kind, d.tier, notice), "count": 1}
    values.update(tier=d.tier, route=d.route.name, key=d.key)
    return {name: "" if values.get(name) is None else str(values[name]) for name in PLACEHOLDERS}


def _escape(value: str, content_type: str) -> str:
    if content_type == "application/json":
        return json.dumps(value, ensure_ascii=False)[1:-1]  # inside the template's quotes
    if content_type == "application/x-www-form-urlencoded":
        return quote_plus(value)
    return value


def fill(template: str, values: dict[str, str], content_type: str) -> str:
    """The template with each known `{name}` replaced by its value, escaped for the body's content type
    (JSON string content, form encoding, or as is); other braces stay."""
    return PLACEHOLDER_RE.sub(
        lambda m: _escape(values[m.group(1)], content_type) if m.group(1) in values else m.group(0), template
    )
