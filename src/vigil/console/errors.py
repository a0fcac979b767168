"""The console's errors: one base class, one subclass per HTTP answer.

Services raise these (translating the pipeline's own errors); one handler
turns them into `{"detail": "..."}` with the status the class names.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException


class ConsoleError(Exception):
    """Base class for every console error; `status` is the HTTP status it answers with."""

    status = 400


class BadRequestError(ConsoleError):
    """The request cannot be carried out as asked (a refused query, a bad cursor)."""

    status = 400


class NotSignedInError(ConsoleError):
    """No valid session or API token, or wrong credentials."""

    status = 401


class ForbiddenError(ConsoleError):
    """Signed in, but the role, the CSRF token or the rules of the action say no."""

    status = 403


class NotFoundError(ConsoleError):
    """No such object, or one outside the caller's scope (the same answer, on purpose)."""

    status = 404


class ConflictError(ConsoleError):
    """The object is not in a state that allows the action (set up already, decided already)."""

    status = 409


class InvalidInputError(ConsoleError):
    """Well-formed JSON with values the action cannot take."""

    status = 422


class TooManyAttemptsError(ConsoleError):
    """Too many failed sign-ins for one user from one address."""

    status = 429


def _console_error(_request: Request, error: Exception) -> JSONResponse:
    status = error.status if isinstance(error, ConsoleError) else 500
    return JSONResponse({"detail": str(error)}, status_code=status)


def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    problems = error.errors() if isinstance(error, RequestValidationError) else []
    words = "; ".join(
        f"{'.'.join(str(part) for part in item.get('loc', ()))}: {item.get('msg', '')}"
        for item in problems
    )
    return JSONResponse({"detail": words or "invalid request"}, status_code=422)


def _http_error(_request: Request, error: Exception) -> JSONResponse:
    status = error.status_code if isinstance(error, HTTPException) else 500
    detail = error.detail if isinstance(error, HTTPException) else "error"
    headers = error.headers if isinstance(error, HTTPException) else None
    return JSONResponse({"detail": str(detail)}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Answer every error as `{"detail": "..."}` (a string, also for validation errors)."""
    app.add_exception_handler(ConsoleError, _console_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
