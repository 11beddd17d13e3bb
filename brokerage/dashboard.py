"""The brokerage section of the signed-in home page: proposals to answer, active deployments to update (brokers)
or under way (schools), and links to the region's matchings (registered in `BrokerageConfig.ready`)."""

from __future__ import annotations

from django.urls import reverse

from accounts.dashboard import Link, Section, Task
from brokerage.models import Deployment, MatchingRun
from brokerage.queries import broker_regions, deployments_for, is_system_leader, proposal_rows, schools_of
from schoolpartners.types import User


def section(user: User) -> Section | None:
    regions, schools = broker_regions(user), schools_of(user)
    if not (regions or schools or is_system_leader(user)):
        return None
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
