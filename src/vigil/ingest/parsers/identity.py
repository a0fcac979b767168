"""Identity-provider sign-ins in the Okta System Log shape, one JSON event per line.

    {"uuid": "s000000003", "published": "2026-11-23T13:22:31.643Z",
     "eventType": "user.session.start",
     "actor": {"id": "00u1", "alternateId": "tfarouk10020", "displayName": "T. Farouk"},
     "client": {"ipAddress": "10.0.31.49", "geographicalContext": {"country": "US"}},
     "outcome": {"result": "SUCCESS", "reason": null},
     "authenticationContext": {"factor": "push"},
     "target": [{"type": "AppInstance", "displayName": "Store Portal"}]}

Staff SSO and vendor VPN sign-ins become Authentication events. `user.session.start`
and `user.authentication.*` are Logon, `user.session.end` Logoff, any other event
type Other, named after it. The outcome is `status_id` (SUCCESS / ALLOW -> Success,
FAILURE / DENY -> Failure) with the reason in `status_detail`. The service is the
target application (the first `AppInstance` target), or the identity provider
itself when the event names none. `is_mfa` is true when a second factor was used
(`authenticationContext.factor`, or the `auth_via_mfa` event type).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from vigil.events import Authentication
from vigil.ingest.parsers.base import (
    INDEX,
    LOG_FORMAT,
    PRODUCT_NAME,
    PRODUCT_VENDOR,
    REASON,
    Parser,
    decode_json,
    indexed,
    parse_with,
    parsers,
    reject_where,
    utc_time,
)
from vigil.ingest.parsers.sniff import sample_lines, share
from vigil.ingest.types import ParseResult, RawRecords

LOGON, LOGOFF, OTHER = 1, 2, 99
STATUS = {"SUCCESS": 1, "ALLOW": 1, "FAILURE": 2, "DENY": 2}
"""Okta outcome.result -> OCSF status_id; anything else is Other (99)."""

TARGET = pl.Struct({"id": pl.String(), "type": pl.String(), "displayName": pl.String()})
SIGN_IN = pl.Struct(
    {
        "uuid": pl.String(),
        "published": pl.String(),
        "eventType": pl.String(),
        "displayMessage": pl.String(),
        "actor": pl.Struct(
            {
                "id": pl.String(),
                "type": pl.String(),
                "alternateId": pl.String(),
                "displayName": pl.String(),
            }
        ),
        "client": pl.Struct(
            {
                "ipAddress": pl.String(),
                "geographicalContext": pl.Struct(
                    {
                        "country": pl.String(),
                        "state": pl.String(),
                        "city": pl.String(),
                        "postalCode": pl.String(),
                    }
                ),
            }
        ),
        "outcome": pl.Struct({"result": pl.String(), "reason": pl.String()}),
        "authenticationContext": pl.Struct(
            {"factor": pl.String(), "externalSessionId": pl.String()}
        ),
        "target": pl.List(TARGET),
    }
)


@parsers.register("okta_signin")
class OktaSignIn(Parser):
    """Okta-style System Log sign-in events: staff SSO and vendor VPN."""

    description = "Identity-provider sign-ins, Okta System Log JSON (one event per line)"
    event_classes = (Authentication,)

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        lines = sample_lines(sample)
        marked = (
            lines.str.strip_chars_start().str.starts_with("{")
            & lines.str.contains('"eventType"', literal=True)
            & lines.str.contains('"outcome"', literal=True)
        )
        return 0.9 * share(marked)

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        frame = decode_json(frame, "record", SIGN_IN)
        if REASON not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(REASON))
        actor = pl.col("actor").struct
        frame = frame.with_columns(
            utc_time(pl.col("published")).alias("_time"),
            pl.coalesce(actor.field("alternateId"), actor.field("id")).alias("_user"),
        )
        frame = reject_where(
            frame,
            (pl.col("published").is_null(), "no published time"),
            (pl.col("_time").is_null(), "published is not an ISO 8601 time"),
            (pl.col("eventType").is_null(), "no eventType"),
            (pl.col("_user").is_null(), "no actor (alternateId or id)"),
        )
        return parse_with(frame.select(INDEX, REASON, *self.mapping()), Authentication)

    @staticmethod
    def mapping() -> list[pl.Expr]:
        kind = pl.col("eventType")
        actor = pl.col("actor").struct
        client = pl.col("client").struct
        place = client.field("geographicalContext").struct
        outcome = pl.col("outcome").struct
        factor = pl.col("authenticationContext").struct.field("factor")
        apps = pl.col("target").list.eval(
            pl.element().filter(pl.element().struct.field("type") == "AppInstance")
        )
        app = pl.coalesce(apps.list.first(), pl.col("target").list.first())
        activity = (
            pl.when(
                kind.is_in(["user.session.start"]) | kind.str.starts_with("user.authentication.")
            )
            .then(pl.lit(LOGON))
            .when(kind == "user.session.end")
            .then(pl.lit(LOGOFF))
            .otherwise(pl.lit(OTHER))
        )
        alternate = actor.field("alternateId")
        status = outcome.field("result").replace_strict(
            STATUS, default=OTHER, return_dtype=pl.Int64
        )
        return [
            pl.col("_time").alias("time"),
            activity.alias("activity_id"),
            pl.when(activity == LOGON)
            .then(pl.lit("Logon"))
            .when(activity == LOGOFF)
            .then(pl.lit("Logoff"))
            .otherwise(kind)
            .alias("activity_name"),
            status.alias("status_id"),
            pl.when(status == 1)
            .then(pl.lit("Success"))
            .when(status == 2)
            .then(pl.lit("Failure"))
            .otherwise(outcome.field("result").str.to_titlecase())
            .alias("status"),
            outcome.field("reason").alias("status_detail"),
            pl.col("displayMessage").alias("message"),
            pl.lit("Okta").alias(PRODUCT_NAME),
            pl.lit("Okta").alias(PRODUCT_VENDOR),
            pl.lit("system_log").alias("metadata.log_name"),
            pl.lit("okta_json").alias(LOG_FORMAT),
            pl.col("uuid").alias("metadata.uid"),
            pl.col("_user").alias("user.name"),
            actor.field("id").alias("user.uid"),
            actor.field("displayName").alias("user.full_name"),
            pl.when(alternate.str.contains("@")).then(alternate).alias("user.email_addr"),
            client.field("ipAddress").alias("src_endpoint.ip"),
            place.field("country").alias("src_endpoint.location.country"),
            place.field("state").alias("src_endpoint.location.region"),
            place.field("city").alias("src_endpoint.location.city"),
            place.field("postalCode").alias("src_endpoint.location.postal_code"),
            pl.coalesce(app.struct.field("displayName"), pl.lit("Okta")).alias("service.name"),
            app.struct.field("id").alias("service.uid"),
            pl.col("authenticationContext").struct.field("externalSessionId").alias("session.uid"),
            (factor.is_not_null() | (kind == "user.authentication.auth_via_mfa")).alias("is_mfa"),
            pl.struct(kind.alias("eventType"), factor.alias("factor"))
            .struct.json_encode()
            .str.replace(',"factor":null', "", literal=True)
            .alias("unmapped"),
        ]
