"""Accounts and access: local users (argon2), sessions with CSRF tokens, API tokens, roles, scopes."""
