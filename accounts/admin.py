"""Django admin: users are managed with the built-in User admin (at /admin/); schools and partnerships are
registered read-mostly (they come from the data imports: browse and search, no adding or deleting)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import RoleAssignment
from partnerships.models import Membership, Partnership
from schools.models import School

admin.site.site_header = "School Partners administration"
admin.site.site_title = "School Partners admin"


class ReadMostlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Imported data: no add or delete in the admin; identity fields are read-only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(School)
class SchoolAdmin(ReadMostlyAdmin):
    list_display = ("urn", "name", "la_name", "phase", "establishment_type", "status", "ofsted_rating")
    list_filter = ("phase", "status", "region_name")
    search_fields = ("name", "=urn", "=laestab", "postcode", "town")
    show_full_result_count = False
    readonly_fields = ("urn", "register_source", "register_as_of", "coord_source", "coord_as_of")


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    extra = 0
    raw_id_fields = ("school",)
    fields = ("school", "joined", "left", "reason", "source", "as_of")
    readonly_fields = ("source", "as_of")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Partnership)
class PartnershipAdmin(ReadMostlyAdmin):
    list_display = ("name", "kind", "external_id", "lead_region")
    list_filter = ("kind",)
    search_fields = ("name", "=external_id", "=uid")
    readonly_fields = ("kind", "external_id", "source")
    inlines = [MembershipInline]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Scoped roles: staff grant a user a role for one school, trust or region (checked by accounts.permissions)."""

    list_display = ("user", "role", "school", "partnership", "region", "granted_at")
    list_filter = ("role", "region")
    search_fields = ("user__username", "=school__urn", "school__name", "partnership__name", "region")
    raw_id_fields = ("user", "school", "partnership")
