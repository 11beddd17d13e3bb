"""Django admin for partnerships: read-mostly (they come from the data imports), with their memberships."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from partnerships.models import Membership, Partnership
from schoolpartners.admin import ReadMostlyAdmin


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
