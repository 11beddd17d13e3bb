"""Audit events and request steps in words: `{{ event.action|event_label }}`, `{{ user|person }}`,
`{% step_label request.kind step.step step.outcome %}`."""

from __future__ import annotations

from typing import Any

from django import template

from audit import kinds

register = template.Library()


@register.filter
def event_label(action: str) -> str:
    return kinds.label_of(action)


@register.simple_tag
def step_label(request_kind: str, step: str, outcome: str) -> str:
    return kinds.step_label(request_kind, step, outcome)


def person_name(first: str, last: str, username: str) -> str:
    """ "A. Person" from a first and last name; the full name or the username when one part is missing."""
    first, last = first.strip(), last.strip()
    if first and last:
        return f"{first[0].upper()}. {last}"
    return first or last or username or "the system"


@register.filter
def person(user: Any) -> str:
    if user is None:
        return "the system"
    return person_name(
        getattr(user, "first_name", "") or "", getattr(user, "last_name", "") or "", user.get_username()
    )
