"""Designations (NLE, LLE, SLE, NSS, hubs, sponsors), recorded by staff or the regional director's office."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from accounts.permissions import require
from audit.services import record
from notifications.services import notify
from partnerships.models import Designation
from partnerships.queries import can_record_designation, school_users, trust_admins
from partnerships.services.common import ProcedureError, acting_user
from schoolpartners.types import Actor
from schools.models import School


@transaction.atomic
def record_designation(
    user: Actor,
    *,
    kind: str,
    valid_from: dt.date,
    school_urn: int | None = None,
    person_name: str = "",
    valid_to: dt.date | None = None,
    expertise: str = "",
    partnership_id: int | None = None,
) -> Designation:
    school = School.objects.get(pk=school_urn) if school_urn else None
    require(
        can_record_designation(user, school),
        "Only staff or the regional director's office can record designations.",
    )
    user = acting_user(user)
    if school is None and not person_name.strip():
        raise ProcedureError("Name a school or a person.")
    if valid_to and valid_to < valid_from:
        raise ProcedureError("The end date is before the start date.")
    d = Designation.objects.create(
        kind=kind,
        school=school,
        person_name=person_name.strip()[:200],
        partnership_id=partnership_id,
        valid_from=valid_from,
        valid_to=valid_to,
        expertise=expertise[:300],
        recorded_by=user,
    )
    record(
        "partnerships.designation.recorded",
        actor=user,
        object_type="designation",
        object_id=d.pk,
        data={
            "kind": kind,
            "school": school_urn,
            "person": person_name[:200],
            "partnership": partnership_id,
            "region": school.region_name if school else "",
        },
    )
    people = (school_users(school.urn) if school else []) + (
        trust_admins(partnership_id) if partnership_id else []
    )
    who = d.person_name or (school.name if school else "")
    at = f" at {school.name}" if school and d.person_name else ""
    notify(
        people,
        f"Designation recorded: {who}{at} is a {d.get_kind_display()} from "
        f"{valid_from.day} {valid_from:%B %Y}.",
        f"/schools/{school.urn}/" if school else "/partnerships/designations/",
    )
    return d
