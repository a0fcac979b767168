"""Estate context for users: the identity behind a username, till operator id or uid.

User-shaped groups of an event (`user`, `actor.user`, `cashier`, ...) are matched
to an identity by username (case-insensitive, without `DOMAIN\\` or `@domain`),
by till operator id, or by identity uid: `uid`, `name`, `full_name`, `type_id`
(1 User, 4 Service, 99 Other for vendors) and `type` (the estate's kind: cashier,
manager, vendor ...) are filled. An identity that works at exactly one store
gives the event its store when nothing else does.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from vigil.estate.types import Identity, IdentityKind
from vigil.ingest.enrich.columns import fill_empty, gather_rows, index_of, unique_keys

USER_TYPES: dict[IdentityKind, int] = {
    IdentityKind.EMPLOYEE: 1,
    IdentityKind.CASHIER: 1,
    IdentityKind.MANAGER: 1,
    IdentityKind.SECURITY: 1,
    IdentityKind.SERVICE: 4,
    IdentityKind.VENDOR: 99,
}
"""Identity kind -> OCSF user `type_id` (1 User, 2 Admin, 3 System, 4 Service, 99 Other)."""


def normal_username(values: pl.Expr) -> pl.Expr:
    """Usernames as the estate keeps them: lower case, without `DOMAIN\\` or `@domain`."""
    return (
        values.str.to_lowercase()
        .str.replace(r"^.*\\", "")
        .str.replace(r"@.*$", "")
        .str.strip_chars()
    )


class IdentityIndex:
    """The estate's identities, indexed by username, till operator id and uid."""

    def __init__(self, identities: Sequence[Identity]) -> None:
        self._identities = pl.DataFrame(
            {
                "uid": [p.uid for p in identities],
                "name": [p.username for p in identities],
                "full_name": [p.name for p in identities],
                "type_id": [USER_TYPES.get(p.kind, 99) for p in identities],
                "type": [p.kind.value for p in identities],
                "store": [p.stores[0] if len(p.stores) == 1 else None for p in identities],
            },
            schema={
                "uid": pl.String,
                "name": pl.String,
                "full_name": pl.String,
                "type_id": pl.Int64,
                "type": pl.String,
                "store": pl.String,
            },
        )
        self._by_username = unique_keys((p.username.lower(), i) for i, p in enumerate(identities))
        self._by_operator = unique_keys(
            (p.cashier_id, i) for i, p in enumerate(identities) if p.cashier_id
        )
        self._by_identity_uid = unique_keys((p.uid, i) for i, p in enumerate(identities))

    def user(
        self, frame: pl.DataFrame, group: str, names: set[str]
    ) -> tuple[pl.DataFrame, pl.Series]:
        """The group's empty fields filled from its identity, and the identity's home store."""
        name, uid = pl.col(f"{group}.name"), pl.col(f"{group}.uid")
        index = frame.select(
            pl.coalesce(
                index_of(normal_username(name), self._by_username),
                index_of(uid, self._by_operator),
                index_of(uid, self._by_identity_uid),
                index_of(normal_username(uid), self._by_username),
            )
        )[:, 0]
        person = gather_rows(self._identities, index)
        fills = [
            fill_empty(f"{group}.{field}", pl.lit(person[field]))
            for field in ("uid", "name", "full_name", "type")
            if f"{group}.{field}" in names
        ]
        unknown = pl.col(f"{group}.type_id").is_null() | (pl.col(f"{group}.type_id") == 0)
        fills.append(
            pl.when(unknown & pl.lit(person["type_id"]).is_not_null())
            .then(pl.lit(person["type_id"]))
            .otherwise(pl.col(f"{group}.type_id"))
            .alias(f"{group}.type_id")
        )
        return frame.with_columns(fills), person["store"]
