"""Shared types (kernel). Use `Actor` for "the user making this request" instead of `Any`."""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User

#: The requesting user: a signed-in `User` or Django's `AnonymousUser`.
Actor: TypeAlias = User | AnonymousUser

__all__ = ["Actor", "AnonymousUser", "User"]
