"""The register of partnerships that need no consent procedure here (ISSPs, sponsors, teaching school hubs,
umbrella trusts) and the ISSP offers and requests board."""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from django.utils import timezone

from accounts.permissions import can_act_for_school, require
from audit.services import record
from notifications.services import notify
from partnerships.models import Activity, IsspActivity, IsspPost, Kind, Partnership
from partnerships.queries import can_record_designation, is_independent, issp_matches, school_users
from partnerships.services.common import ProcedureError, acting_user
from partnerships.services.seats import open_membership
from schoolpartners.types import Actor
from schools.models import School


@transaction.atomic
def register_issp(
    user: Actor, name: str, school_urns: list[int], activities: list[str], description: str = ""
) -> Partnership:
    """Record an independent-state school partnership with its schools and activities (staff or regional)."""
    return register_partnership(user, Kind.ISSP, name, school_urns, activities, description)


REGISTERABLE = (Kind.ISSP, Kind.SPONSOR, Kind.TEACHING_HUB, Kind.UMBRELLA)


@transaction.atomic
def register_partnership(
    user: Actor,
    kind: str,
    name: str,
    school_urns: list[int],
    activities: list[str] | None = None,
    description: str = "",
) -> Partnership:
    """Record a partnership that needs no consent procedure here (ISSP, sponsor, teaching school hub, umbrella
    trust) with its schools (and, for an ISSP, its activities).

    Who may: staff, or a regional director's office (approver) for the region of EVERY school in the request.
    One school outside the approver's region(s) refuses the whole request (PermissionDenied, nothing written):
    an approver writes only in their own region."""
    require(
        can_record_designation(user, None),
        "Only staff or the regional director's office can register partnerships.",
    )
    if kind not in REGISTERABLE:
        raise ProcedureError("MATs and federations are formed through requests.")
    schools = list(School.objects.filter(urn__in=school_urns))
    if len(schools) != len(set(school_urns)):
        raise ProcedureError("Some URNs are not schools in the register.")
    outside = sorted(s.urn for s in schools if not can_record_designation(user, s))
    require(
        not outside,
        "You can register partnerships only for schools in your own region "
        f"(outside it: {', '.join(map(str, outside))}).",
    )
    if kind == Kind.ISSP:
        if (
            len(schools) < 2
            or not any(is_independent(s) for s in schools)
            or all(is_independent(s) for s in schools)
        ):
            raise ProcedureError("An ISSP needs at least one independent and one state school.")
        if not activities:
            raise ProcedureError("Choose at least one activity.")
    if not name.strip():
        raise ProcedureError("Give the partnership a name.")
    region = Counter(s.region_name for s in schools).most_common(1)[0][0] if schools else ""
    p = Partnership.objects.create(
        kind=kind, name=name.strip()[:200], source="School Partners register", lead_region=region
    )
    for s in schools:
        open_membership(p, s, timezone.localdate())
    for a in sorted(set(activities or [])):
        IsspActivity.objects.create(partnership=p, activity=a, description=description[:500])
    record(
        f"partnerships.{kind}.registered",
        actor=user,
        object_type="partnership",
        object_id=p.pk,
        data={"schools": school_urns, "activities": activities or []},
    )
    return p


@transaction.atomic
def post_issp(
    user: Actor, *, school_urn: int, activity: str, description: str = "", max_miles: int = 25
) -> IsspPost:
    """An independent school posts an offer; a state school posts what it is looking for (kind follows the school)."""
    require(can_act_for_school(user, school_urn), "You can only post for your own school.")
    user = acting_user(user)
    school = School.objects.get(pk=school_urn)
    if activity not in Activity.values:
        raise ProcedureError("Unknown activity.")
    kind = IsspPost.OFFER if is_independent(school) else IsspPost.REQUEST
    post = IsspPost.objects.create(
        kind=kind,
        school=school,
        activity=activity,
        description=description[:1000],
        max_miles=max(1, min(int(max_miles), 200)),
        created_by=user,
    )
    record(
        "partnerships.issp.posted",
        actor=user,
        object_type="issp_post",
        object_id=post.pk,
        data={"kind": kind, "school": school_urn, "activity": activity},
    )
    matches = issp_matches(post)[:5]
    for m in matches:
        notify(
            school_users(m["post"].school_id),
            f"A possible ISSP match: {school.name} "
            f"({post.get_kind_display().lower()}, {post.get_activity_display().lower()}, {m['miles']:.1f} miles).",
            "/partnerships/issp/",
        )
    return post
