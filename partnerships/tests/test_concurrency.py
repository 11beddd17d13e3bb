"""Two regional approvers' clicks at the same moment: select_for_update lets exactly one approval through."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from partnerships import services
from partnerships.models import Membership, PartnershipRequest, RequestStatus
from partnerships.tests.conftest import EFFECTIVE


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_open_one_membership(world):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite serialises whole-database writes)")
    w = world
    req = services.submit_join(w.user_a, w.a.urn, w.t1.pk, EFFECTIVE)
    services.trust_consent(w.admin_t1, req.pk, True)
    barrier = threading.Barrier(4)
    outcomes: list[Any] = []

    def approve() -> None:
        try:
            barrier.wait()
            services.regional_decision(w.approver, req.pk, True)
            outcomes.append("ok")
        except services.ProcedureError as exc:
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1 and len(outcomes) == 4
    assert Membership.objects.filter(school=w.a, left__isnull=True).count() == 1
    assert PartnershipRequest.objects.get(pk=req.pk).status == RequestStatus.APPROVED
