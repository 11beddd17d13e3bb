"""Roles: what a signed-in user may do, and for which school, trust or region.

A user may hold several role assignments. Scoped roles name exactly one scope:
- SCHOOL_USER: acts for one school (headteacher, governor, school business manager).
- TRUST_ADMIN: acts for one partnership (e.g. a MAT's board / CEO office).
- REGIONAL_APPROVER: the regional director's office for one region (approves academy decisions).
- BROKER: a regional improvement adviser who runs matchings for one region.
- SYSTEM_LEADER: an NLE/LLE/SLE or teaching-school-hub lead acting for their own offers.
Checks live in `accounts/permissions.py`; views and services call them, tests prove refusals.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    SCHOOL_USER = "school_user", "School user"
    TRUST_ADMIN = "trust_admin", "Trust administrator"
    REGIONAL_APPROVER = "regional_approver", "Regional director's office (approver)"
    BROKER = "broker", "Regional broker"
    SYSTEM_LEADER = "system_leader", "System leader"


class RoleAssignment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=30, choices=Role.choices)
    school = models.ForeignKey("schools.School", null=True, blank=True, on_delete=models.CASCADE)
    partnership = models.ForeignKey(
        "partnerships.Partnership", null=True, blank=True, on_delete=models.CASCADE
    )
    region = models.CharField(max_length=100, blank=True, help_text="region name, for regional roles")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "role"])]
        constraints = [
            models.CheckConstraint(
                name="role_scope",
                condition=(
                    models.Q(role="school_user", school__isnull=False)
                    | models.Q(role="trust_admin", partnership__isnull=False)
                    | models.Q(role__in=["regional_approver", "broker"], region__gt="")
                    | models.Q(role="system_leader")
                ),
            )
        ]

    def __str__(self) -> str:
        scope = self.school or self.partnership or self.region or ""
        return f"{self.user} · {self.get_role_display()} · {scope}"
