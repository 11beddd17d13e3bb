"""Django admin: users are managed with the built-in User admin (at /admin/); scoped roles here. Schools and
partnerships are registered read-mostly by their own apps (`schools/admin.py`, `partnerships/admin.py`)."""

from __future__ import annotations

from django.contrib import admin

from accounts.models import RoleAssignment

admin.site.site_header = "School Partners administration"
admin.site.site_title = "School Partners admin"


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Scoped roles: staff grant a user a role for one school, trust or region (checked by accounts.permissions)."""

    list_display = ("user", "role", "school", "partnership", "region", "granted_at")
    list_filter = ("role", "region")
    search_fields = ("user__username", "=school__urn", "school__name", "partnership__name", "region")
    raw_id_fields = ("user", "school", "partnership")
