"""Actions that send a message: notify people, open a ticket, ask the store edge for
video review, send an IoT gateway a command.

Messages to the store edge go over MQTT with QoS 1, which delivers at least once:
every payload carries `request_id` (the execution's idempotency key) and the
receiver drops an id it has already handled.

    vigil/<store>/video/review          request_video_review
    vigil/<store>/iot/<device>/cmd      iot_command
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from vigil.respond.actions import Action, Applied, ExecutionContext, actions
from vigil.respond.backends import Fact, Notice, TicketRequest
from vigil.respond.types import ActionParams, Change, RiskLevel

SEGMENT = r"^[A-Za-z0-9_.-]{1,64}$"
"""One MQTT topic level: no wildcards, no slashes."""
LONGEST_REVIEW = timedelta(hours=24)
UNSENDABLE = "a sent message cannot be unsent"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class FactParam(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, description="Label, e.g. `Store`.")
    value: str = Field(max_length=1000, description="Value, e.g. `031 Leeds`.")


class NotifyParams(ActionParams):
    channel: str = Field(description="Notification channel, as named in the respond config.")
    title: str = Field(min_length=1, max_length=200, description="Headline.")
    text: str = Field(max_length=4000, description="Body, plain text.")
    severity: Severity = Field(default=Severity.MEDIUM, description="How urgent.")
    link: str | None = Field(default=None, max_length=2000, description="Link to the incident.")
    facts: list[FactParam] = Field(default_factory=list, max_length=20, description="Key facts.")


@actions.register("notify")
class Notify(Action[NotifyParams]):
    name = "notify"
    params_model = NotifyParams
    risk = RiskLevel.LOW
    blast_radius = "A message to one channel's people."
    repeatable = False
    irreversible = UNSENDABLE

    def apply(self, params: NotifyParams, context: ExecutionContext, limit: float) -> Applied:
        notice = Notice(
            title=params.title,
            text=params.text,
            severity=params.severity.value,
            incident_id=context.incident_id,
            link=params.link,
            facts=tuple(Fact(fact.name, fact.value) for fact in params.facts),
        )
        answer = context.backends.notifier(params.channel).send(notice, context.key, limit)
        return Applied(
            detail=f"notified {params.channel}: {answer}",
            changes=(Change(target=f"channel {params.channel}", effect=f"sent {params.title!r}"),),
        )


class OpenTicketParams(ActionParams):
    title: str = Field(min_length=1, max_length=200, description="Ticket summary.")
    description: str = Field(max_length=20000, description="Ticket body.")
    priority: Severity = Field(default=Severity.MEDIUM, description="Ticket priority.")
    store: str | None = Field(default=None, max_length=64, description="Store uid, if one.")
    labels: list[str] = Field(default_factory=list, max_length=20, description="Ticket labels.")


@actions.register("open_ticket")
class OpenTicket(Action[OpenTicketParams]):
    name = "open_ticket"
    params_model = OpenTicketParams
    risk = RiskLevel.LOW
    blast_radius = "One ticket in the ticketing system."
    repeatable = False
    irreversible = "tickets are closed by the people who work them, not by a rollback"

    def apply(self, params: OpenTicketParams, context: ExecutionContext, limit: float) -> Applied:
        request = TicketRequest(
            title=params.title,
            description=params.description,
            priority=params.priority.value,
            incident_id=context.incident_id,
            store=params.store,
            labels=tuple(params.labels),
        )
        receipt = context.backends.need_ticketing().open(request, context.key, limit)
        ticket = receipt.ticket_id or "(no id returned)"
        return Applied(
            detail=f"opened ticket {ticket}: {receipt.detail}",
            changes=(Change(target=f"ticket {ticket}", effect=f"opened {params.title!r}"),),
        )


class VideoReviewParams(ActionParams):
    store: str = Field(pattern=SEGMENT, description="Store uid (the edge that keeps the video).")
    cameras: list[str] = Field(min_length=1, max_length=32, description="Camera ids to review.")
    start: AwareDatetime = Field(description="Start of the footage to review.")
    end: AwareDatetime = Field(description="End of the footage (at most 24 h after start).")
    reason: str = Field(min_length=1, max_length=500, description="What to look for.")

    @model_validator(mode="after")
    def _window(self) -> VideoReviewParams:
        if not self.start < self.end <= self.start + LONGEST_REVIEW:
            raise ValueError("end must be after start, and at most 24 hours after it")
        return self


class EdgeMessage(BaseModel):
    """The head of every message to the store edge: `request_id` lets it drop a repeat."""

    request_id: str
    incident_id: str | None


def _publish(
    topic: str, message: EdgeMessage, effect: str, context: ExecutionContext, limit: float
) -> Change:
    """Send `message` to the store edge; the change it made, for the incident."""
    context.backends.need_publisher().publish(topic, message.model_dump_json().encode(), limit)
    return Change(target=f"mqtt {topic}", effect=effect)


class VideoReviewMessage(EdgeMessage):
    cameras: list[str]
    start: datetime
    end: datetime
    reason: str


@actions.register("request_video_review")
class RequestVideoReview(Action[VideoReviewParams]):
    name = "request_video_review"
    params_model = VideoReviewParams
    risk = RiskLevel.LOW
    blast_radius = "A review request in one store's video queue."
    repeatable = True
    irreversible = "a review request asks for a look and changes nothing"

    def apply(self, params: VideoReviewParams, context: ExecutionContext, limit: float) -> Applied:
        topic = f"vigil/{params.store}/video/review"
        message = VideoReviewMessage(
            request_id=context.key,
            incident_id=context.incident_id,
            cameras=params.cameras,
            start=params.start,
            end=params.end,
            reason=params.reason,
        )
        sent = _publish(topic, message, "review requested", context, limit)
        cameras = ", ".join(params.cameras)
        return Applied(detail=f"asked store {params.store} to review {cameras}", changes=(sent,))


Scalar = str | int | float | bool


class IotCommandParams(ActionParams):
    store: str = Field(pattern=SEGMENT, description="Store uid.")
    device: str = Field(pattern=SEGMENT, description="Device id at the store's IoT gateway.")
    command: str = Field(pattern=SEGMENT, description="Command name, e.g. `lock`.")
    args: dict[str, Scalar] = Field(default_factory=dict, description="Command arguments.")
    undo_command: str | None = Field(
        default=None,
        pattern=SEGMENT,
        description="The command that undoes this one, e.g. `unlock`.",
    )
    undo_args: dict[str, Scalar] = Field(default_factory=dict, description="Its arguments.")


class IotCommandMessage(EdgeMessage):
    command: str
    args: dict[str, Scalar]


@actions.register("iot_command")
class IotCommand(Action[IotCommandParams]):
    name = "iot_command"
    params_model = IotCommandParams
    risk = RiskLevel.HIGH
    blast_radius = "One physical device (door, HVAC, shelf, sensor) at one store."
    repeatable = False
    inverse = "iot_command"
    """Only when `undo_command` is given; a device command has no generic opposite."""

    def apply(self, params: IotCommandParams, context: ExecutionContext, limit: float) -> Applied:
        topic = f"vigil/{params.store}/iot/{params.device}/cmd"
        message = IotCommandMessage(
            request_id=context.key,
            incident_id=context.incident_id,
            command=params.command,
            args=params.args,
        )
        sent = _publish(topic, message, f"command {params.command}", context, limit)
        undo = None
        if params.undo_command is not None:
            undo = IotCommandParams(
                store=params.store,
                device=params.device,
                command=params.undo_command,
                args=params.undo_args,
            )
        return Applied(
            detail=f"sent {params.command} to {params.device} at store {params.store}",
            changes=(sent,),
            undo=undo,
        )
