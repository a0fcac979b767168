"""One HTTP client for the HTTP adapters, turning every failure into the right error class.

    refused, unreachable, connect timeout, 408, 429, 5xx  -> TransientError (try again)
    read/write timeout, connection dropped mid-request    -> AmbiguousError (maybe applied)
    any other 4xx                                         -> PermanentError

Errors name the method, the URL without its query and the status, never a header:
tokens travel in headers and webhook URLs can hold secrets in their query.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType

import httpx

from vigil.respond.errors import AmbiguousError, PermanentError, TransientError

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 425, 429})
BODY_EXCERPT = 200


def redact(url: str) -> str:
    """The URL without query, fragment or user info (webhook tokens live there)."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(query=None, fragment=None, userinfo=b""))


class HttpSender:
    """A pooled `httpx.Client`; `send` raises a classified `AdapterError` on failure."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self.client = client or httpx.Client(follow_redirects=False)

    def send(
        self,
        method: str,
        url: str,
        *,
        limit: float,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        where = f"{method} {redact(url)}"
        try:
            response = self.client.request(
                method, url, content=content, headers=headers, params=params, timeout=limit
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise TransientError(f"{where}: cannot connect ({type(error).__name__})") from None
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as error:
            raise AmbiguousError(f"{where}: no answer ({type(error).__name__})") from None
        except httpx.HTTPError as error:
            raise AmbiguousError(f"{where}: {type(error).__name__}") from None
        status = response.status_code
        if status < 400:
            return response
        excerpt = response.text[:BODY_EXCERPT].replace("\n", " ")
        message = f"{where}: HTTP {status} {excerpt}".rstrip()
        if status >= 500 or status in RETRY_STATUSES:
            raise TransientError(message)
        raise PermanentError(message)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HttpSender:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
