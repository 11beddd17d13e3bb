"""The API keeps its own contract under hostile input: schemathesis drives every operation of
`/api/openapi.json` through the WSGI app, in-process, anonymous and signed in as each role, against a small
world built by factories (schools with results and families, a trust, a similarity run, an evaluation run,
needs, offers, a matching run with a proposal and a deployment, a support activity).

Every (role, operation) pair is one test: bounded, derandomized examples (the schema's explicit examples, cases
whose path parameters name real objects, cases generated from the schema and cases that violate it), each
checked for no server error and conformance of status code, content type, headers and body to the document.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi import checks as oas_checks

from accounts.models import Role
from accounts.tests.factories import RoleAssignmentFactory, UserFactory
from schoolpartners.wsgi import application
from schools.tests.factories import MembershipFactory, PartnershipFactory

ROLES = (
    "anonymous",
    "school_user",
    "trust_admin",
    "regional_approver",
    "broker",
    "system_leader",
    "staff",
)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    oas_checks.status_code_conformance,
    oas_checks.content_type_conformance,
    oas_checks.response_headers_conformance,
    oas_checks.response_schema_conformance,
]
MAX_EXAMPLES = 15
REQUESTS: list[str] = []  # one entry per request made (printed with -s at the end of the module)
REGION = "West Midlands"

SCHEMA = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
_RESULTS = list(SCHEMA.get_all_operations())
OPERATIONS = [result.ok() for result in _RESULTS if isinstance(result, Ok)]
assert len(OPERATIONS) == len(_RESULTS), "every operation of the document loads"


@dataclass
class ContractWorld:
    ids: dict[str, int]  # real object per path parameter name
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # per role: the CSRF header
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)  # per role: session and CSRF cookies


def _build() -> ContractWorld:
    from brokerage.services import respond, run_matching, send_proposals
    from brokerage.tests.factories import NeedFactory, OfferFactory
    from evaluation import services as evaluation
    from evaluation.engine import Settings
    from evaluation.tests import world
    from partnerships.models import Kind
    from schools.models import School
    from support.tests.factories import SupportActivityFactory

    built = world.build()
    evaluation.run_national(Settings(n_boot=50))
    controls = [School.objects.get(urn=u) for u in built["controls"]]
    trust: Any = PartnershipFactory(kind=Kind.MAT, name="Contract Trust")
    for school in controls[:4]:
        MembershipFactory(partnership=trust, school=school, joined=dt.date(2018, 9, 1))
    School.objects.filter(urn__in=[s.urn for s in controls[4:8]]).update(ofsted_rating="Requires Improvement")
    School.objects.filter(urn__in=[s.urn for s in controls[8:12]]).update(ofsted_rating="Outstanding")
    for school in controls[4:8]:
        NeedFactory(school=school, area="leadership", severity=2)
    for school in controls[8:12]:
        OfferFactory(school=school, areas=["leadership"], phases=["primary"], capacity=2, max_miles=60)
    SupportActivityFactory(recipient=controls[5], providers=[controls[9]], start_date=dt.date(2024, 9, 1))

    User = get_user_model()
    users: dict[str, Any] = {
        "school_user": (Role.SCHOOL_USER, {"school": controls[9]}),
        "trust_admin": (Role.TRUST_ADMIN, {"partnership": trust}),
        "regional_approver": (Role.REGIONAL_APPROVER, {"region": REGION}),
        "broker": (Role.BROKER, {"region": REGION}),
        "system_leader": (Role.SYSTEM_LEADER, {}),
    }
    accounts: dict[str, Any] = {}
    for name, (role, scope) in users.items():
        accounts[name] = UserFactory(username=f"contract-{name}")
        RoleAssignmentFactory(user=accounts[name], role=role, **scope)
    accounts["staff"] = UserFactory(username="contract-staff", is_staff=True)
    # the matching's school sides: the needing school's user and the offering school's user accept
    need_user = UserFactory(username="contract-need")
    RoleAssignmentFactory(user=need_user, role=Role.SCHOOL_USER, school=controls[4])
    run: Any = run_matching(accounts["broker"], REGION)
    result_ids = list(run.results.values_list("pk", flat=True))
    proposals = send_proposals(accounts["broker"], run, result_ids)
    ids: dict[str, int] = {"urn": built["treated"][0], "trust_id": trust.pk, "run_id": run.pk}
    if proposals:
        ids["proposal_id"] = proposals[0].pk
        first = proposals[0]
        need_side: Any = User.objects.get(roles__school=first.need.school, roles__role=Role.SCHOOL_USER)
        offer_side: Any = UserFactory(username="contract-offer")
        RoleAssignmentFactory(user=offer_side, role=Role.SCHOOL_USER, school=first.offer.school)
        respond(need_side, first.pk, "need", True)
        respond(offer_side, first.pk, "offer", True)
        from brokerage.models import Deployment

        deployment = Deployment.objects.first()
        if deployment is not None:
            ids["deployment_id"] = deployment.pk

    out = ContractWorld(ids=ids)
    for name in ROLES:  # anonymous callers send a CSRF token too, as a browser would: writes answer 401
        token = secrets.token_hex(16)  # 32 characters: an unmasked CSRF secret, sent as cookie and header
        out.headers[name] = {"X-CSRFToken": token}
        out.cookies[name] = {"csrftoken": token}
        if name in accounts:
            client = Client()
            client.force_login(accounts[name])
            out.cookies[name]["sessionid"] = client.cookies["sessionid"].value
    return out


@pytest.fixture(scope="module", autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """The WSGI app is called directly (not through Django's test client): stop it closing the database
    connection at the end of each request, as the test client does, or PostgreSQL loses the test's
    transaction after the first request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def contract_world(django_db_setup: object, django_db_blocker: Any) -> Iterator[ContractWorld]:
    """Built once for the module and committed (each test then runs in its own rolled-back transaction);
    flushed afterwards so that later modules start from an empty database."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)
        built = _build()
    yield built
    print(f"\nschemathesis: {len(OPERATIONS)} operations x {len(ROLES)} roles, {len(REQUESTS)} requests")
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


def _strategy(operation: Any, world: ContractWorld, headers: dict[str, str]) -> Any:
    names = [p.name for p in operation.path_parameters]
    real = {n: world.ids[n] for n in names if n in world.ids}
    options = [
        operation.as_strategy(headers=headers),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE, headers=headers),
    ]
    if real:
        options.insert(0, operation.as_strategy(path_parameters=real, headers=headers))
    return st.one_of(options)


@pytest.mark.django_db
@override_settings(API_WRITE_THROTTLE="")  # 429 is documented; here every example must reach the operation
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_operation_keeps_its_contract(contract_world: ContractWorld, role: str, operation: Any) -> None:
    headers, cookies = contract_world.headers[role], contract_world.cookies[role]
    before = len(REQUESTS)

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(operation, contract_world, headers))
    def run(case: Any) -> None:
        REQUESTS.append(operation.label)
        case.call_and_validate(headers=headers, cookies=cookies, checks=CHECKS)

    run()
    assert len(REQUESTS) > before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_signed_in_through_the_transport(contract_world: ContractWorld, role: str) -> None:
    """The headers above sign in (401 anonymous; every role's session passes authentication and CSRF)."""
    case = SCHEMA["/api/support/pledges"]["POST"].Case(body={}, media_type="application/json")
    response = case.call(headers=contract_world.headers[role], cookies=contract_world.cookies[role])
    assert response.status_code == (401 if role == "anonymous" else 422), response.text
