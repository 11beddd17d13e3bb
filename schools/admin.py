"""Django admin for the school register: read-mostly (schools come from the data imports)."""

from __future__ import annotations

from django.contrib import admin

from schoolpartners.admin import ReadMostlyAdmin
from schools.models import School


@admin.register(School)
class SchoolAdmin(ReadMostlyAdmin):
    list_display = ("urn", "name", "la_name", "phase", "establishment_type", "status", "ofsted_rating")
    list_filter = ("phase", "status", "region_name")
    search_fields = ("name", "=urn", "=laestab", "postcode", "town")
    show_full_result_count = False
    readonly_fields = ("urn", "register_source", "register_as_of", "coord_source", "coord_as_of")
