"""A notice as the JSON body each kind of webhook expects.

- `json`: Vigil's own generic shape (below), for any HTTP receiver.
- `slack`: an incoming-webhook message with Block Kit blocks and a `text` fallback.
- `teams_card`: an Office 365 connector MessageCard (the legacy Teams incoming webhook).
- `teams_adaptive`: a message with one Adaptive Card attachment (version 1.4), what
  Teams workflow (Power Automate) webhooks take.

Generic JSON:

    {"type": "vigil.notice", "key": "...", "title": "...", "text": "...",
     "severity": "high", "incident_id": "...", "link": "...",
     "facts": [{"name": "Store", "value": "031"}]}
"""

from __future__ import annotations

import json
from enum import StrEnum

from vigil.respond.backends import Fact, Notice

SLACK_FIELDS = 10
"""Slack allows at most ten fields in a section block."""
COLOURS = {
    "info": "808080",
    "low": "2E7D32",
    "medium": "F9A825",
    "high": "EF6C00",
    "critical": "C62828",
}


class WebhookFormat(StrEnum):
    JSON = "json"
    SLACK = "slack"
    TEAMS_CARD = "teams_card"
    TEAMS_ADAPTIVE = "teams_adaptive"


def render(notice: Notice, form: WebhookFormat, key: str) -> bytes:
    """The request body for `form`, as UTF-8 JSON."""
    body = {
        WebhookFormat.JSON: _generic,
        WebhookFormat.SLACK: _slack,
        WebhookFormat.TEAMS_CARD: _message_card,
        WebhookFormat.TEAMS_ADAPTIVE: _adaptive,
    }[form](notice, key)
    return json.dumps(body, ensure_ascii=False).encode()


def _generic(notice: Notice, key: str) -> dict[str, object]:
    return {
        "type": "vigil.notice",
        "key": key,
        "title": notice.title,
        "text": notice.text,
        "severity": notice.severity,
        "incident_id": notice.incident_id,
        "link": notice.link,
        "facts": [{"name": fact.name, "value": fact.value} for fact in notice.facts],
    }


def _slack(notice: Notice, key: str) -> dict[str, object]:
    blocks: list[dict[str, object]] = [
        {"type": "header", "text": {"type": "plain_text", "text": notice.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": notice.text or notice.title}},
    ]
    if notice.facts:
        fields = [
            {"type": "mrkdwn", "text": f"*{fact.name}*\n{fact.value}"}
            for fact in notice.facts[:SLACK_FIELDS]
        ]
        blocks.append({"type": "section", "fields": fields})
    context = f"Severity: *{notice.severity}*"
    if notice.incident_id:
        context += f" · Incident {notice.incident_id}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    if notice.link:
        button = {"type": "button", "text": {"type": "plain_text", "text": "Open incident"}}
        blocks.append({"type": "actions", "elements": [{**button, "url": notice.link}]})
    return {"text": f"[{notice.severity}] {notice.title}", "blocks": blocks}


def _message_card(notice: Notice, key: str) -> dict[str, object]:
    card: dict[str, object] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": notice.title,
        "themeColor": COLOURS.get(notice.severity, COLOURS["info"]),
        "title": notice.title,
        "text": notice.text,
        "sections": [
            {"facts": [{"name": fact.name, "value": fact.value} for fact in _facts(notice)]}
        ],
    }
    if notice.link:
        target = {"os": "default", "uri": notice.link}
        card["potentialAction"] = [
            {"@type": "OpenUri", "name": "Open incident", "targets": [target]}
        ]
    return card


def _adaptive(notice: Notice, key: str) -> dict[str, object]:
    content: dict[str, object] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": notice.title,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": notice.text, "wrap": True},
            {
                "type": "FactSet",
                "facts": [{"title": fact.name, "value": fact.value} for fact in _facts(notice)],
            },
        ],
    }
    if notice.link:
        content["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open incident", "url": notice.link}
        ]
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": content,
    }
    return {"type": "message", "attachments": [attachment]}


def _facts(notice: Notice) -> list[Fact]:
    """The notice's facts with severity and incident first (Teams shows no separate field)."""
    head = [Fact("Severity", notice.severity)]
    if notice.incident_id:
        head.append(Fact("Incident", notice.incident_id))
    return head + list(notice.facts)
