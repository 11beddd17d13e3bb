"""What every partnership write shares: the error a step raises when it is not possible, and the signed-in user
taking it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError

from schoolpartners.types import Actor, User


class ProcedureError(ValidationError):
    """A step that is not possible in the request's current state (shown to the user, nothing changed)."""


def acting_user(user: Actor) -> User:
    """The signed-in user taking a step. Called after the scoped permission check, which already refuses
    anonymous users; this only narrows the type (and refuses anyone else, to be safe)."""
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    return user
