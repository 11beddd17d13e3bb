"""Scoped permission checks. Services call these before every write and raise PermissionDenied on refusal."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from accounts.models import Role, RoleAssignment
from schoolpartners.types import Actor


def _roles(user: Actor | None, role: str) -> QuerySet[RoleAssignment]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return RoleAssignment.objects.none()
    return RoleAssignment.objects.filter(user=user, role=role)


def can_act_for_school(user: Actor | None, school_urn: int) -> bool:
    return _roles(user, Role.SCHOOL_USER).filter(school_id=school_urn).exists()


def can_act_for_trust(user: Actor | None, partnership_id: int) -> bool:
    return _roles(user, Role.TRUST_ADMIN).filter(partnership_id=partnership_id).exists()


def is_regional(user: Actor | None, role: str, region: str) -> bool:
    return _roles(user, role).filter(region__iexact=region).exists()


def schools_of(user: Actor | None) -> list[int]:
    return list(_roles(user, Role.SCHOOL_USER).values_list("school_id", flat=True))


def trusts_of(user: Actor | None) -> list[int]:
    return list(_roles(user, Role.TRUST_ADMIN).values_list("partnership_id", flat=True))


def regions_of(user: Actor | None, role: str) -> list[str]:
    return list(_roles(user, role).values_list("region", flat=True))


def require(allowed: bool, message: str) -> None:
    """Raise PermissionDenied(message) unless allowed."""
    if not allowed:
        raise PermissionDenied(message)
