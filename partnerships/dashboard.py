"""The partnerships section of the signed-in home page: requests waiting for this user's step, their schools'
requests in progress, and links to their trust's and region's pages (registered in `PartnershipsConfig.ready`)."""

from __future__ import annotations

from django.urls import reverse

from accounts.dashboard import Link, Section, Task
from accounts.models import Role
from accounts.permissions import regions_of, schools_of, trusts_of
from partnerships.models import PartnershipRequest
from partnerships.queries import awaiting_action
from schoolpartners.types import User


def _url(reqs: list[PartnershipRequest]) -> str:
    """One request: its page; several: the list of requests."""
    if len(reqs) == 1:
        return reverse("partnerships:request", args=[reqs[0].pk])
    return reverse("partnerships:requests")


def _hint(reqs: list[PartnershipRequest]) -> str:
    names = [str(r.school or r.new_name) for r in reqs[:3]]
    more = f" and {len(reqs) - 3:,} more" if len(reqs) > 3 else ""
    return ", ".join(names) + more


def section(user: User) -> Section | None:
    schools, trusts = schools_of(user), trusts_of(user)
    regions = regions_of(user, Role.REGIONAL_APPROVER)
    if not (schools or trusts or regions or user.is_staff):
        return None
    waiting = awaiting_action(user)
    tasks = []
    if trusts:
        tasks.append(
            Task(
                "Requests waiting for your trust's consent",
                len(waiting["trust"]),
                _url(waiting["trust"]),
                _hint(waiting["trust"]),
            )
        )
    if regions:
        tasks.append(
            Task(
                "Requests to decide as the regional director's office",
                len(waiting["region"]),
                _url(waiting["region"]),
                _hint(waiting["region"]),
            )
        )
    if schools:
        tasks.append(
            Task(
                "Proposals waiting for your school's consent",
                len(waiting["schools"]),
                _url(waiting["schools"]),
                _hint(waiting["schools"]),
            )
        )
        if waiting["own"]:
            tasks.append(
                Task(
                    "Your school's requests in progress (waiting for others)",
                    len(waiting["own"]),
                    _url(waiting["own"]),
                    "; ".join(r.get_status_display() for r in waiting["own"][:3]),
                    status="in progress",
                    counts=False,
                )
            )
    links = [Link("All requests you can see", reverse("partnerships:requests"))]
    if schools:
        links.append(Link("Ask to join or leave a trust, or form one", reverse("partnerships:join")))
    for region in regions:
        links.append(
            Link(f"Designations in {region}", reverse("partnerships:designations") + f"?region={region}")
        )
    return Section("partnerships", "Trusts and partnerships", tasks=tasks, links=links)
