"""Shared Django admin helpers (kernel): each app registers its own models in its `admin.py`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadMostlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Imported data: no add or delete in the admin; identity fields are read-only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
