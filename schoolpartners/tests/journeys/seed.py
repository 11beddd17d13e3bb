"""Seed the journeys' database (run in a subprocess with the server's DATABASE_URL, after `schoolpartners migrate`).

`python -m schoolpartners.tests.journeys.seed OUT.json` builds, with the shared test factories and the real
services (similarity recompute, trust figures, evaluation run, matching), one small world for the five journeys:

- a similar-schools population (30 primaries, "Oak Primary School N"), two trusts over some of them;
- the head of a school that requires improvement (Oak 12, South West) with a need and a proposal sent by the
  region's broker, already accepted by the supporter (Oak 14);
- the brokerage world of brokerage/tests/helpers.py (West Midlands: Ash, Beech, Cove, Elm, Fir), Elm in a trust;
- a trust, a joining school, its head, the trust admin and the regional approver (North West B);
- the evaluation world (academy conversions with a planted effect) and a national evaluation run;
- an analyst (staff).

It writes the ids the tests need to OUT.json. Test code only: nothing in production imports it.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

PASSWORD = "pw-journeys-12345"


def build() -> dict[str, Any]:
    from accounts.models import Role
    from accounts.tests.factories import RoleAssignmentFactory, UserFactory
    from brokerage import services as brokerage
    from brokerage.models import Need
    from brokerage.tests import helpers
    from brokerage.tests.factories import NeedFactory, OfferFactory
    from evaluation import services as evaluation
    from evaluation.engine import Settings
    from evaluation.tests import world as evaluation_world
    from partnerships import services as partnerships
    from partnerships.models import Kind
    from schools.models import School
    from schools.tests.factories import (
        CensusRecordFactory,
        MembershipFactory,
        PartnershipFactory,
        SchoolFactory,
    )
    from similarity import services as similarity
    from similarity.models import SimilarityRun
    from similarity.tests.population import build_population, method_small

    def user(name: str, role: str | None = None, staff: bool = False, **scope: Any) -> Any:
        u = UserFactory(
            username=name,
            password=PASSWORD,
            email=f"{name}@schools.test",
            first_name=name.split("-")[0].capitalize(),
            last_name="Journey",
            is_staff=staff,
        )
        if role:
            RoleAssignmentFactory(user=u, role=role, **scope)
        return u

    # the DfE analyst's world first: its stored families are replaced by a real similarity run below
    evaluation_world.build()
    evaluation.run_national(Settings(n_boot=200))
    SimilarityRun.objects.all().delete()

    pop = build_population(secondary=0)
    similarity.recompute(method_small())
    oak = pop["primary"]
    oak_trust: Any = PartnershipFactory(kind=Kind.MAT, name="Oak Learning Trust", external_id="TR09001")
    for urn in oak[:6]:
        MembershipFactory(partnership=oak_trust, school_id=urn)
    other_trust: Any = PartnershipFactory(kind=Kind.MAT, name="Acorn Schools Trust", external_id="TR09002")
    for urn in oak[6:10]:
        MembershipFactory(partnership=other_trust, school_id=urn)

    # (2) the head of a school that requires improvement and its supporter, moved to a region of their own (the
    # population's "West Midlands A" would also count as West Midlands, the broker's journey's region)
    ri: Any = School.objects.get(urn=oak[12])
    ri.ofsted_rating, ri.region_name = "Requires Improvement", "South West"
    ri.save(update_fields=["ofsted_rating", "region_name"])
    helper_school: Any = School.objects.get(urn=oak[14])
    helper_school.ofsted_rating, helper_school.region_name = "Outstanding", "South West"
    helper_school.save(update_fields=["ofsted_rating", "region_name"])
    head_ri = user("head-oak", Role.SCHOOL_USER, school=ri)
    head_helper = user("head-oakhelp", Role.SCHOOL_USER, school=helper_school)
    broker_a = user("broker-sw", Role.BROKER, region=ri.region_name)
    NeedFactory(school=ri, area="leadership", severity=2, source=Need.Source.DATA)
    OfferFactory(school=helper_school, areas=["leadership"], phases=["primary"], capacity=1, max_miles=60)
    run = brokerage.run_matching(broker_a, ri.region_name)
    sent = brokerage.send_proposals(
        broker_a, run, run.results.exclude(offer=None).values_list("pk", flat=True)
    )
    assert sent, run.summary
    brokerage.respond(head_helper, sent[0].pk, "offer", True)  # the supporter has said yes; the head decides

    # (3) the regional broker's world (West Midlands), Elm Primary in a trust with an admin
    bw = helpers.world()
    for u in (bw.broker, bw.needy_user, bw.helper_user, bw.helper2_user):
        u.email = f"{u.username}@schools.test"
        u.set_password(PASSWORD)
        u.save()
    elm_trust: Any = PartnershipFactory(kind=Kind.MAT, name="Elm Tree Academy Trust", external_id="TR09003")
    MembershipFactory(partnership=elm_trust, school=bw.helper)
    user("admin-elmtrust", Role.TRUST_ADMIN, partnership=elm_trust)

    # (4) a school joining a trust (North West B)
    region = "North West B"
    river: Any = PartnershipFactory(kind=Kind.MAT, name="Riverside Learning Trust", external_id="TR09004")
    member = SchoolFactory(
        urn=160001,
        name="Riverside Primary",
        region_name=region,
        la_name="Wigan",
        latitude=53.545,
        longitude=-2.632,
    )
    joiner = SchoolFactory(
        urn=160002,
        name="Hillside Primary",
        region_name=region,
        la_name="Wigan",
        latitude=53.56,
        longitude=-2.60,
    )
    CensusRecordFactory(school=member, year=2025, nor=300)
    CensusRecordFactory(school=joiner, year=2025, nor=150)
    MembershipFactory(partnership=river, school=member)
    user("head-hillside", Role.SCHOOL_USER, school=joiner)
    user("admin-riverside", Role.TRUST_ADMIN, partnership=river)
    user("approver-nwb", Role.REGIONAL_APPROVER, region=region)

    partnerships.recompute()

    # (5) the DfE analyst
    user("analyst", staff=True)
    return {
        "password": PASSWORD,
        "oak": oak,
        "oak_trust": oak_trust.pk,
        "other_trust": other_trust.pk,
        "ri": ri.urn,
        "ri_name": ri.name,
        "helper_name": helper_school.name,
        "ri_region": ri.region_name,
        "bw": {"ash": bw.needy.urn, "elm": bw.helper.urn, "elm_trust": elm_trust.pk},
        "river": {"pk": river.pk, "dfe_id": river.external_id, "joiner": joiner.urn, "member": member.urn},
        "head_ri": head_ri.username,
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolpartners.settings")
    import django

    django.setup()
    out = build()
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
