"""The `respond` configuration section, and the real backends built from it.

    respond:
      gateways:
        default: {netns: null}
        store031: {netns: gw031, table: vigil}
      scim: {base_url: "https://idp.example/scim/v2", token_env: VIGIL_SCIM_TOKEN}
      password_reset: {type: okta, base_url: "https://acme.okta.com", token_env: VIGIL_OKTA_TOKEN}
      channels:
        soc: {type: webhook, url_env: VIGIL_SLACK_SOC_URL, format: slack}
        lp-email: {type: email, host: smtp.example, port: 587, starttls: true,
                   username_env: VIGIL_SMTP_USER, password_env: VIGIL_SMTP_PASSWORD,
                   sender: vigil@example.com, recipients: [lp@example.com]}
      ticketing: {url: "https://tickets.example/api/intake", token_env: VIGIL_TICKET_TOKEN}
      mqtt: {host: 127.0.0.1, port: 1883}

Secrets are never in the file: each `*_env` field names the environment variable
that holds one, read once by `build_backends` at start-up. A named variable that
is missing or empty is a `ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from vigil.respond.adapters.formats import WebhookFormat
from vigil.respond.adapters.idp import (
    GRAPH,
    EntraPasswordResetter,
    OktaPasswordResetter,
    WebhookPasswordResetter,
)
from vigil.respond.adapters.mqtt import MqttPublisher
from vigil.respond.adapters.nftables import NftFirewall
from vigil.respond.adapters.scim import ScimDirectory
from vigil.respond.adapters.smtp import SmtpNotifier
from vigil.respond.adapters.webhook import WebhookNotifier, WebhookTicketing
from vigil.respond.backends import Backends, Firewall, Notifier, PasswordResetter
from vigil.respond.errors import ConfigError
from vigil.respond.retry import RetryPolicy

ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GatewayConfig(Section):
    netns: str | None = Field(default=None, description="Network namespace of the gateway, if any.")
    table: str = Field(
        default="vigil", pattern=r"^[a-z][a-z0-9_]{0,31}$", description="nft table (inet)."
    )
    nft: str = Field(default="nft", description="The nft binary.")


class ScimConfig(Section):
    base_url: str = Field(description="SCIM base URL, up to `/v2` (without `/Users`).")
    token_env: str | None = Field(
        default=None, pattern=ENV_NAME, description="Variable holding the bearer token."
    )
    patch_style: Literal["path", "value"] = Field(
        default="path",
        description="`path`: RFC 7644 form; `value`: the path-less form Entra ID sends.",
    )


class PasswordResetConfig(Section):
    type: Literal["okta", "entra", "webhook"] = Field(description="Which identity provider API.")
    base_url: str = Field(
        description=f"Okta org URL, the Graph base URL ({GRAPH}) or the webhook URL."
    )
    token_env: str | None = Field(
        default=None, pattern=ENV_NAME, description="Variable holding the API token."
    )


class WebhookChannel(Section):
    type: Literal["webhook"] = Field(description="An HTTP webhook.")
    url_env: str = Field(
        pattern=ENV_NAME, description="Variable holding the URL (Slack/Teams URLs are secrets)."
    )
    format: WebhookFormat = Field(default=WebhookFormat.JSON, description="Body shape.")
    token_env: str | None = Field(
        default=None, pattern=ENV_NAME, description="Variable holding a bearer token."
    )


class EmailChannel(Section):
    type: Literal["email"] = Field(description="Email over SMTP.")
    host: str = Field(description="SMTP server.")
    port: int = Field(default=25, ge=1, le=65535, description="SMTP port (587 with STARTTLS).")
    starttls: bool = Field(default=False, description="Upgrade with STARTTLS before login.")
    username_env: str | None = Field(
        default=None, pattern=ENV_NAME, description="Variable holding the login."
    )
    password_env: str | None = Field(
        default=None, pattern=ENV_NAME, description="Variable holding the password."
    )
    sender: str = Field(description="From address.")
    recipients: list[str] = Field(min_length=1, description="To addresses.")


Channel = Annotated[WebhookChannel | EmailChannel, Field(discriminator="type")]


class TicketingConfig(Section):
    url: str = Field(description="The ticketing intake URL.")
    token_env: str | None = Field(
        default=None, pattern=ENV_NAME, description="Variable holding a bearer token."
    )
    id_field: str = Field(default="id", description="Field of the answer holding the ticket id.")


class MqttConfig(Section):
    host: str = Field(default="127.0.0.1", description="Broker host.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port.")
    username_env: str | None = Field(
        default=None, pattern=ENV_NAME, description="Variable holding the user name."
    )
    password_env: str | None = Field(
        default=None, pattern=ENV_NAME, description="Variable holding the password."
    )


class RespondConfig(Section):
    gateways: dict[str, GatewayConfig] = Field(
        default_factory=dict, description="Store gateways by name."
    )
    scim: ScimConfig | None = Field(
        default=None, description="SCIM directory for disable/enable user."
    )
    password_reset: PasswordResetConfig | None = Field(
        default=None, description="Forced password change."
    )
    channels: dict[str, Channel] = Field(
        default_factory=dict, description="Notification channels by name."
    )
    ticketing: TicketingConfig | None = Field(default=None, description="Ticketing intake.")
    mqtt: MqttConfig | None = Field(
        default=None, description="Broker for store edge and IoT commands."
    )
    retry: RetryPolicy = Field(
        default_factory=RetryPolicy, description="Retry and back-off of adapter calls."
    )


def _secret(environ: Mapping[str, str], name: str | None) -> str | None:
    if name is None:
        return None
    value = environ.get(name, "")
    if not value:
        raise ConfigError(f"environment variable {name} is not set")
    return value


def _required(environ: Mapping[str, str], name: str | None, what: str) -> str:
    value = _secret(environ, name)
    if value is None:
        raise ConfigError(f"{what} needs token_env")
    return value


def _channel(channel: WebhookChannel | EmailChannel, environ: Mapping[str, str]) -> Notifier:
    if isinstance(channel, WebhookChannel):
        url = _required(environ, channel.url_env, "a webhook channel")
        return WebhookNotifier(url, channel.format, _secret(environ, channel.token_env))
    return SmtpNotifier(
        channel.host,
        channel.port,
        channel.sender,
        channel.recipients,
        starttls=channel.starttls,
        username=_secret(environ, channel.username_env),
        password=_secret(environ, channel.password_env),
    )


def _password_resetter(config: PasswordResetConfig, environ: Mapping[str, str]) -> PasswordResetter:
    if config.type == "okta":
        return OktaPasswordResetter(config.base_url, _required(environ, config.token_env, "okta"))
    if config.type == "entra":
        return EntraPasswordResetter(_required(environ, config.token_env, "entra"), config.base_url)
    return WebhookPasswordResetter(config.base_url, _secret(environ, config.token_env))


def build_backends(config: RespondConfig, environ: Mapping[str, str]) -> Backends:
    """The real adapters of a configuration; secrets read from `environ` now."""
    firewalls: dict[str, Firewall] = {
        name: NftFirewall(netns=gateway.netns, table=gateway.table, nft=gateway.nft)
        for name, gateway in config.gateways.items()
    }
    scim = config.scim
    ticketing = config.ticketing
    mqtt = config.mqtt
    return Backends(
        firewalls=firewalls,
        directory=ScimDirectory(scim.base_url, _secret(environ, scim.token_env), scim.patch_style)
        if scim
        else None,
        password_resetter=_password_resetter(config.password_reset, environ)
        if config.password_reset
        else None,
        notifiers={name: _channel(channel, environ) for name, channel in config.channels.items()},
        ticketing=WebhookTicketing(
            ticketing.url, _secret(environ, ticketing.token_env), ticketing.id_field
        )
        if ticketing
        else None,
        publisher=MqttPublisher(
            mqtt.host,
            mqtt.port,
            _secret(environ, mqtt.username_env),
            _secret(environ, mqtt.password_env),
        )
        if mqtt
        else None,
    )
