"""Saved searches: a hunter's own named queries (a search or SQL), kept in the database."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from vigil.console.auth.types import Principal
from vigil.console.errors import ConflictError, InvalidInputError
from vigil.console.hunt.types import SavedSearch
from vigil.console.state import Console
from vigil.correlate.codec import utc
from vigil.store.models import ConsoleSavedSearch

MAX_QUERY = 20_000
"""Characters of a saved query's JSON at most."""


def saved(console: Console, principal: Principal) -> list[SavedSearch]:
    query = (
        select(ConsoleSavedSearch)
        .where(ConsoleSavedSearch.owner == principal.name)
        .order_by(ConsoleSavedSearch.name)
    )
    with console.database.session() as session:
        return [
            SavedSearch(row.id, row.name, dict(row.query), utc(row.created_at))
            for row in session.scalars(query)
        ]


def save(
    console: Console, principal: Principal, name: str, query: dict[str, object]
) -> SavedSearch:
    if len(json.dumps(query, default=str)) > MAX_QUERY:
        raise InvalidInputError(f"a saved query is at most {MAX_QUERY} characters of JSON")
    now = console.now()
    row = ConsoleSavedSearch(owner=principal.name, name=name, query=query, created_at=now)
    try:
        with console.database.session() as session:
            session.add(row)
            session.flush()
            uid = row.id
    except IntegrityError as error:
        raise ConflictError(f"you have a saved search called {name!r} already") from error
    console.database.audit(principal.name, "hunt.saved.create", str(uid), {"name": name})
    return SavedSearch(uid, name, query, now)
