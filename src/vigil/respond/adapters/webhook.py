"""Webhooks: notices to a chat or any HTTP receiver, tickets to a ticketing intake.

Every request carries `Idempotency-Key: <execution key>` so that receivers that
honour it (many ticketing and automation APIs do) drop a duplicate; Slack and
Teams do not, which is why `notify` is marked not safe to repeat.

A ticketing endpoint gets Vigil's generic JSON:

    {"type": "vigil.ticket", "key": "...", "title": "...", "description": "...",
     "priority": "high", "incident_id": "...", "store": "031", "labels": ["pos"]}

and may answer with a JSON object holding the new ticket's id at its top level
(`id_field`, default `id`); without one the result says no id was returned.
"""

from __future__ import annotations

import json

from vigil.respond.adapters.formats import WebhookFormat, render
from vigil.respond.adapters.http import HttpSender
from vigil.respond.backends import Notice, TicketReceipt, TicketRequest

JSON = "application/json"


class WebhookNotifier:
    """One webhook URL (a secret for Slack and Teams: the token is in the URL)."""

    def __init__(
        self,
        url: str,
        form: WebhookFormat = WebhookFormat.JSON,
        token: str | None = None,
        sender: HttpSender | None = None,
    ) -> None:
        self.url = url
        self.form = form
        self.sender = sender or HttpSender()
        self._token = token

    def send(self, notice: Notice, key: str, limit: float) -> str:
        headers = {"Content-Type": JSON, "Idempotency-Key": key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = render(notice, self.form, key)
        response = self.sender.send("POST", self.url, content=body, headers=headers, limit=limit)
        return f"{self.form} webhook answered HTTP {response.status_code}"

    def close(self) -> None:
        self.sender.close()


class WebhookTicketing:
    """A ticketing system's JSON intake endpoint."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        id_field: str = "id",
        sender: HttpSender | None = None,
    ) -> None:
        self.url = url
        self.id_field = id_field
        self.sender = sender or HttpSender()
        self._token = token

    def open(self, ticket: TicketRequest, key: str, limit: float) -> TicketReceipt:
        headers = {"Content-Type": JSON, "Accept": JSON, "Idempotency-Key": key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = json.dumps(
            {
                "type": "vigil.ticket",
                "key": key,
                "title": ticket.title,
                "description": ticket.description,
                "priority": ticket.priority,
                "incident_id": ticket.incident_id,
                "store": ticket.store,
                "labels": list(ticket.labels),
            }
        ).encode()
        response = self.sender.send("POST", self.url, content=body, headers=headers, limit=limit)
        return TicketReceipt(self._ticket_id(response.content), f"HTTP {response.status_code}")

    def _ticket_id(self, content: bytes) -> str | None:
        try:
            answer = json.loads(content)
        except ValueError:
            return None
        found = answer.get(self.id_field) if isinstance(answer, dict) else None
        return str(found) if found is not None else None

    def close(self) -> None:
        self.sender.close()
