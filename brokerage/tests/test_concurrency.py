"""Concurrent acceptances never overbook a supporter (PostgreSQL: real row locks, separate connections)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from brokerage import services
from brokerage.models import Deployment, Need
from brokerage.tests.factories import NeedFactory, ProposalFactory
from brokerage.tests.helpers import world
from schools.tests.factories import SchoolFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite has no SELECT ... FOR UPDATE and serialises all writers anyway",
)


@pytest.mark.django_db(transaction=True)
def test_parallel_acceptances_respect_capacity():
    w = world()
    offer = w.offer  # capacity 1
    offer.capacity = 2
    offer.save()
    users, proposals = [], []
    for k in range(8):
        school = SchoolFactory(urn=500000 + k, region_name="West Midlands", latitude=52.4, longitude=-1.9)
        need = NeedFactory(school=school, area="leadership", severity=2, source=Need.Source.DECLARED)
        p = ProposalFactory(need=need, offer=offer)
        services.respond(w.helper_user, p.pk, "offer", True)
        from accounts.models import Role
        from brokerage.tests.helpers import user

        users.append(user(f"head-{k}", Role.SCHOOL_USER, school=school))
        proposals.append(p)

    barrier = threading.Barrier(len(proposals))
    outcomes: list[str] = []
    lock = threading.Lock()

    def accept(u, p):
        try:
            barrier.wait()
            services.respond(u, p.pk, "need", True)
            result = "ok"
        except services.CapacityExhausted:
            result = "full"
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            result = repr(exc)
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=accept, args=(u, p)) for u, p in zip(users, proposals, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["full"] * 6 + ["ok"] * 2, outcomes
    assert Deployment.objects.filter(offer=offer, status="active").count() == 2
