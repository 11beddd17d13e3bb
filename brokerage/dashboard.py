"""The brokerage section of the signed-in home page: proposals to answer, active deployments to update (brokers)
or under way (schools), and links to the region's matchings (registered in `BrokerageConfig.ready`)."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from accounts.dashboard import Link, Section, Task
from accounts.permissions import trusts_of
from brokerage.models import Deployment, MatchingRun, Proposal
from brokerage.queries import broker_regions, deployments_for, is_system_leader, proposal_rows, schools_of
from partnerships.models import Membership
from schoolpartners.types import User


def section(user: User) -> Section | None:
    regions, schools, trusts = broker_regions(user), schools_of(user), trusts_of(user)
    if not (regions or schools or is_system_leader(user)):
        return _trust_section(trusts) if trusts else None
    to_answer = [r for r in proposal_rows(user) if r["sides"]]
    tasks = [
        Task(
            "Proposals to answer",
            len(to_answer),
            reverse("brokerage:proposals"),
            ", ".join(f"{r['supporter']} → {r['school']}" for r in to_answer[:3]),
        )
    ]
    active = deployments_for(user).filter(status=Deployment.Status.ACTIVE)
    if regions:
        tasks.append(
            Task(
                "Active deployments in your region to update or close",
                active.count(),
                reverse("brokerage:deployments"),
                "Record days and dates as they change; close each with its outcome.",
            )
        )
    else:
        tasks.append(
            Task("Deployments under way for your school", active.count(), reverse("brokerage:deployments"))
        )
    links = []
    for region in regions:
        run = MatchingRun.objects.filter(region__iexact=region, status=MatchingRun.Status.DONE).first()
        if run is not None:
            links.append(Link(f"Latest matching for {region}", reverse("brokerage:run", args=[run.pk])))
        links.append(Link(f"Run a matching for {region}", reverse("brokerage:home") + f"?region={region}"))
        links.append(Link(f"Support given in {region}", reverse("support:ledger")))
    if schools:
        links.append(Link("Your school's needs and offers", reverse("brokerage:school")))
    return Section("brokerage", "Brokerage: support between schools", tasks=tasks, links=links)


def _trust_section(trusts: list[int]) -> Section:
    """A trust admin answers no proposal (its schools do) but should know what its schools are asked and doing."""
    members = Membership.objects.filter(partnership_id__in=trusts, left__isnull=True).values_list("school_id")
    involving = Q(need__school_id__in=members) | Q(offer__school_id__in=members)
    sent = Proposal.objects.filter(involving, status=Proposal.Status.SENT).select_related(
        "need__school", "offer__school"
    )
    active = Deployment.objects.filter(
        Q(need__school_id__in=members) | Q(offer__school_id__in=members), status=Deployment.Status.ACTIVE
    )
    trust_url = reverse("partnerships:trust", args=[trusts[0]])
    tasks = [
        Task(
            "Proposals your trust's schools are asked to answer",
            sent.count(),
            trust_url,
            ", ".join(f"{p.offer.school.name} → {p.need.school.name}" for p in sent[:3]),
            status="open",
            counts=False,
        ),
        Task(
            "Deployments under way in your trust's schools",
            active.count(),
            trust_url,
            status="under way",
            counts=False,
        ),
    ]
    return Section("brokerage", "Brokerage: support between schools", tasks=tasks)
