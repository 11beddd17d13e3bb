"""The authorization matrix: every write (page and API) aimed at another school, trust and region is refused for
every role, and nothing changes.

The routes come from the code, not from this file: every page whose view handles POST (walking the URL resolver,
as test_access.py does) and every non-GET operation of the OpenAPI document. A route missing from the tables
below fails `test_every_*_write_route_is_in_the_matrix`, so a new write cannot ship unchecked.

For each case, the seven roles of scope A (authz_world.ROLES: anonymous, school user, trust admin, regional
approver, broker, system leader, staff) send the write aimed at scope B: each is refused (API: 401/403/404;
pages: 403/404 or a redirect to sign in) and the row count of every table, the audit events and the state of the
workflow rows are unchanged. Staff is refused too unless staff may make that write (then staff is the case's
control). Then the case's control, a user who may make the write, sends the same request and it succeeds and
changes something: the refusals are about who asks, not about a malformed payload.

Issue 10 cases: "every provider must be yours" (support activity with an own and a B provider), "the region of
every school in the request" (register with an A and a B school), offers in B's name by a system leader, and
deployments of B as an existence oracle.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from schoolpartners.api import api
from schoolpartners.tests import authz_world
from schoolpartners.tests.test_access import all_patterns
from schools.tests.factories import empty_database  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]

Ids = dict[str, Any]

# Pages that handle POST but are not writes to any school, trust or region: signing in and out.
AUTH_ROUTES = {"accounts/login/", "accounts/logout/"}


@dataclass(frozen=True)
class Case:
    name: str
    url: Callable[[Ids], str]
    body: Callable[[Ids], dict[str, Any]]
    control: str  # the user (authz_world) who may make this write; "staff" when staff may
    form_refusal: tuple[str, ...] = ()  # roles whose form does not offer B's school/region: re-rendered form
    upload: bool = False  # multipart with a CSV file named "file"
    own_only: bool = False  # acts on the caller's own rows only: signed-in roles may pass, B is never touched
    own_tables: tuple[str, ...] = ()  # tables where an own-only write adds the caller's own row (not B's)


def _url(u: str) -> Callable[[Ids], str]:
    return lambda i: u.format(**i)


IMPORT_CSV = (
    "provider_urns,system_leader,recipient_urn,support_type,start_date,end_date,days,outcome\n"
    "600001,,600002,jpd,2024-09-01,2025-07-20,10,Lesson study\n"
)
NON_SCHOOL = ("trust", "approver", "broker", "leader", "staff")

PAGE_CASES: dict[str, list[Case]] = {
    "brokerage/": [
        Case(
            "run B's matching",
            _url("/brokerage/"),
            lambda i: {"region": authz_world.REGION_B, "trust_rule": "none"},
            "b_broker",
            form_refusal=("broker",),
        ),
        Case(
            "run B's matching as a background job",
            _url("/brokerage/"),
            lambda i: {"region": authz_world.REGION_B, "trust_rule": "none", "background": "1"},
            "b_broker",
            form_refusal=("broker",),
        ),
    ],
    "brokerage/runs/<id:run_id>/send/": [
        Case(
            "send B's proposals",
            _url("/brokerage/runs/{run}/send/"),
            lambda i: {"result": i["result"]},
            "b_broker",
        )
    ],
    "brokerage/proposals/<id:proposal_id>/respond/": [
        Case(
            "accept for B's need",
            _url("/brokerage/proposals/{proposal}/respond/"),
            lambda i: {"side": "need", "decision": "accept"},
            "b_school1",
        ),
        Case(
            "accept for B's offer",
            _url("/brokerage/proposals/{proposal}/respond/"),
            lambda i: {"side": "offer", "decision": "accept"},
            "b_school2",
        ),
    ],
    "brokerage/deployments/<id:deployment_id>/": [
        Case(
            "change B's deployment",
            _url("/brokerage/deployments/{deployment}/"),
            lambda i: {"support_type": "secondment", "days": 7},
            "b_broker",
        ),
        Case(
            "close B's deployment",
            _url("/brokerage/deployments/{deployment}/"),
            lambda i: {"action": "close", "outcome": "done"},
            "b_broker",
        ),
    ],
    "brokerage/school/": [
        Case(
            "declare a need of B",
            _url("/brokerage/school/"),
            lambda i: {"form": "need", "need-school": i["b1"], "need-area": "maths", "need-severity": 2},
            "b_school1",
            form_refusal=("school", *NON_SCHOOL),
        ),
        Case(
            "a system leader's offer in B's name",
            _url("/brokerage/school/"),
            lambda i: {
                "form": "offer",
                "leader_school": i["b2"],
                "offer-school": i["b2"],
                "offer-areas": ["maths"],
                "offer-phases": ["primary"],
                "offer-designation": "nle",
            },
            "b_leader",
            form_refusal=("school", "trust", "approver", "broker", "staff"),
        ),
    ],
    "notifications/": [
        # marks the caller's own notifications read: B's notification stays unread whoever else posts
        Case("mark notifications read", _url("/notifications/"), lambda i: {}, "b_school3", own_only=True)
    ],
    "account/notifications/": [
        # sets the caller's own email preference: B3's stays as it was whoever else posts
        Case(
            "set notification emails",
            _url("/account/notifications/"),
            lambda i: {"frequency": "daily"},
            "b_school3",
            own_only=True,
            own_tables=("notifications.Preference",),
        )
    ],
    "partnerships/requests/new/": [
        Case(
            "B3 asks to join trust B",
            _url("/partnerships/requests/new/"),
            lambda i: {
                "which": "join",
                "join-school": i["b3"],
                "join-trust": i["trust_b"],
                "join-effective_date": i["soon"],
            },
            "b_school3",
        )
    ],
    r"^partnerships/requests/(?P<pk>[0-9]+)/(?P<step>trust|region|school)/$": [
        Case(
            "trust B consents",
            _url("/partnerships/requests/{leave}/trust/"),
            lambda i: {"decision-decision": "yes"},
            "b_trust",
        ),
        Case(
            "region B approves",
            _url("/partnerships/requests/{join}/region/"),
            lambda i: {"decision-decision": "yes"},
            "b_approver",
        ),
        Case(
            "B2 consents to the new trust",
            _url("/partnerships/requests/{form}/school/"),
            lambda i: {"school-school": i["b2"], "school-decision": "yes"},
            "b_school2",
        ),
    ],
    "partnerships/designations/new/": [
        Case(
            "designate at B1",
            _url("/partnerships/designations/new/"),
            lambda i: {
                "kind": "nle",
                "school": i["b1"],
                "person_name": "Cy Head",
                "valid_from": "2024-09-01",
            },
            "staff",
        )
    ],
    "partnerships/issp/post/": [
        Case(
            "post for B1",
            _url("/partnerships/issp/post/"),
            lambda i: {"school": i["b1"], "activity": "sport", "description": "", "max_miles": 25},
            "b_school1",
        )
    ],
    "partnerships/register/": [
        Case(
            "register B's schools",
            _url("/partnerships/register/"),
            lambda i: {"kind": "sponsor", "name": "B Sponsor", "urns": f"{i['b1']} {i['b2']}"},
            "staff",
        ),
        Case(
            "the region of every school in the request",
            _url("/partnerships/register/"),
            lambda i: {"kind": "sponsor", "name": "A+B Sponsor", "urns": f"{i['a1']} {i['b1']}"},
            "staff",
        ),
    ],
    "support/record/": [
        Case(
            "B1 supports B2",
            _url("/support/record/"),
            lambda i: {
                "provider_urns": str(i["b1"]),
                "recipient_urn": i["b2"],
                "support_type": "secondment",
                "start_date": "2025-02-15",
            },
            "staff",
        ),
        Case(
            "every provider must be yours",
            _url("/support/record/"),
            lambda i: {
                "provider_urns": f"{i['a1']};{i['b1']}",
                "recipient_urn": i["b2"],
                "support_type": "secondment",
                "start_date": "2025-02-15",
            },
            "staff",
        ),
    ],
    "support/pledges/": [
        Case(
            "B1 pledges",
            _url("/support/pledges/"),
            lambda i: {"academy_urn": i["b1"], "supported_urn": i["b2"], "pledge_date": "2024-04-01"},
            "staff",
        )
    ],
    "support/import/": [
        Case("import the ledger", _url("/support/import/"), lambda i: {}, "staff", upload=True)
    ],
    "imports/upload/": [
        Case(
            "queue a national data file import", _url("/imports/upload/"), lambda i: {}, "staff", upload=True
        )
    ],
    "jobs/recompute/": [
        Case(
            "queue a national recompute", _url("/jobs/recompute/"), lambda i: {"recompute": "trusts"}, "staff"
        )
    ],
}

API_CASES: dict[str, list[Case]] = {
    "POST /api/brokerage/matchings": [
        Case(
            "run B's matching",
            _url("/api/brokerage/matchings"),
            lambda i: {"region": "North West"},
            "b_broker",
        )
    ],
    "POST /api/brokerage/matchings/{run_id}/proposals": [
        Case(
            "send B's proposals",
            _url("/api/brokerage/matchings/{run}/proposals"),
            lambda i: {"result_ids": [i["result"]]},
            "b_broker",
        )
    ],
    "POST /api/brokerage/proposals/{proposal_id}": [
        Case(
            "accept for B's need",
            _url("/api/brokerage/proposals/{proposal}"),
            lambda i: {"side": "need", "accept": True},
            "b_school1",
        ),
        Case(
            "accept for B's offer",
            _url("/api/brokerage/proposals/{proposal}"),
            lambda i: {"side": "offer", "accept": True},
            "b_school2",
        ),
    ],
    "POST /api/brokerage/deployments/{deployment_id}": [
        Case(
            "change B's deployment",
            _url("/api/brokerage/deployments/{deployment}"),
            lambda i: {"days": 7},
            "b_broker",
        ),
        Case(
            "close B's deployment",
            _url("/api/brokerage/deployments/{deployment}"),
            lambda i: {"close_with_outcome": "done"},
            "b_broker",
        ),
    ],
    "POST /api/brokerage/needs": [
        Case(
            "declare a need of B",
            _url("/api/brokerage/needs"),
            lambda i: {"school": i["b1"], "area": "maths", "severity": 2},
            "b_school1",
        )
    ],
    "POST /api/brokerage/offers": [
        Case(
            "an offer in B's name",
            _url("/api/brokerage/offers"),
            lambda i: {"school": i["b2"], "areas": ["maths"], "phases": ["primary"]},
            "b_school2",
        ),
        Case(
            "a system leader's offer in B's name",
            _url("/api/brokerage/offers"),
            lambda i: {
                "school": i["b2"],
                "areas": ["maths"],
                "phases": ["primary"],
                "designation": "nle",
                "capacity": 20,
                "as_system_leader": True,
            },
            "b_leader",
        ),
    ],
    "POST /api/partnerships/requests": [
        Case(
            "B3 asks to join trust B",
            _url("/api/partnerships/requests"),
            lambda i: {
                "kind": "join_mat",
                "school_urn": i["b3"],
                "partnership_id": i["trust_b"],
                "effective_date": i["soon"],
            },
            "b_school3",
        )
    ],
    "POST /api/partnerships/requests/{request_id}": [
        Case(
            "trust B consents",
            _url("/api/partnerships/requests/{leave}"),
            lambda i: {"step": "trust", "approve": True},
            "b_trust",
        ),
        Case(
            "region B approves",
            _url("/api/partnerships/requests/{join}"),
            lambda i: {"step": "region", "approve": True},
            "b_approver",
        ),
        Case(
            "B2 consents to the new trust",
            _url("/api/partnerships/requests/{form}"),
            lambda i: {"step": "school", "approve": True, "school_urn": i["b2"]},
            "b_school2",
        ),
    ],
    "POST /api/partnerships/designations": [
        Case(
            "designate at B1",
            _url("/api/partnerships/designations"),
            lambda i: {
                "kind": "nle",
                "valid_from": "2024-09-01",
                "school_urn": i["b1"],
                "person_name": "Cy Head",
            },
            "staff",
        )
    ],
    "POST /api/support/activities": [
        Case(
            "B1 supports B2",
            _url("/api/support/activities"),
            lambda i: {
                "recipient_urn": i["b2"],
                "support_type": "secondment",
                "start_date": "2025-02-15",
                "provider_urns": [i["b1"]],
            },
            "staff",
        ),
        Case(
            "every provider must be yours",
            _url("/api/support/activities"),
            lambda i: {
                "recipient_urn": i["b2"],
                "support_type": "secondment",
                "start_date": "2025-02-15",
                "provider_urns": [i["a1"], i["b1"]],
            },
            "staff",
        ),
    ],
    "POST /api/support/pledges": [
        Case(
            "B1 pledges",
            _url("/api/support/pledges"),
            lambda i: {"academy_urn": i["b1"], "supported_urn": i["b2"], "pledge_date": "2024-04-01"},
            "staff",
        )
    ],
    "POST /api/support/import": [
        Case("import the ledger", _url("/api/support/import"), lambda i: {}, "staff", upload=True)
    ],
}


# ---------------------------------------------------------------------------------------------------------------
# The routes, derived from the code
# ---------------------------------------------------------------------------------------------------------------
def _handles_post(callback: Any) -> bool:
    src = inspect.getsource(inspect.unwrap(callback))
    return any(s in src for s in ("request.POST", "request.FILES", "request.method", "require_POST"))


def page_write_routes() -> set[str]:
    return {route for route, p in all_patterns() if route not in AUTH_ROUTES and _handles_post(p.callback)}


def api_write_operations() -> set[str]:
    paths = api.get_openapi_schema()["paths"]
    return {f"{m.upper()} {path}" for path, item in paths.items() for m in item if m != "get"}


def test_every_page_write_route_is_in_the_matrix() -> None:
    routes = page_write_routes()
    assert len(routes) >= 14
    assert {r for r, _ in all_patterns()} >= AUTH_ROUTES
    assert routes - set(PAGE_CASES) == set(), "page writes missing from PAGE_CASES"
    assert set(PAGE_CASES) - routes == set(), "PAGE_CASES names routes that are not page writes"


def test_every_api_write_operation_is_in_the_matrix() -> None:
    ops = api_write_operations()
    assert len(ops) >= 12
    assert ops - set(API_CASES) == set(), "API writes missing from API_CASES"
    assert set(API_CASES) - ops == set(), "API_CASES names operations that are not writes"


# ---------------------------------------------------------------------------------------------------------------
# The matrix
# ---------------------------------------------------------------------------------------------------------------
IGNORED = {"sessions.Session"}  # signing the clients in
WORKFLOW = (
    "brokerage.Deployment",
    "brokerage.Proposal",
    "brokerage.Need",
    "brokerage.Offer",
    "brokerage.MatchResult",
    "partnerships.PartnershipRequest",
    "partnerships.Membership",
    "notifications.Notification",
    "support.SupportActivity",
)


def snapshot() -> dict[str, Any]:
    """Row counts of every table (audit events included) and the values of the workflow rows."""
    state: dict[str, Any] = {
        m._meta.label: m._default_manager.count() for m in apps.get_models() if m._meta.label not in IGNORED
    }
    for label in WORKFLOW:
        state[label + " rows"] = list(apps.get_model(label)._default_manager.order_by("pk").values())
    return state


def _send(client: Client, case: Case, ids: Ids, api_call: bool) -> Any:
    url = case.url(ids)
    if case.upload:
        return client.post(url, {"file": SimpleUploadedFile("ledger.csv", IMPORT_CSV.encode())})
    if api_call:
        return client.post(url, data=case.body(ids), content_type="application/json")
    return client.post(url, case.body(ids))


def _refused(r: Any, role: str, case: Case, api_call: bool) -> bool:
    if api_call:
        return r.status_code in (401, 403, 404)
    if r.status_code == 302:
        return r["Location"].startswith("/accounts/login/") or (case.own_only and role != "anonymous")
    if role in case.form_refusal and r.status_code in (200, 400):
        return True
    return r.status_code in (403, 404)


def _changed(before: dict[str, Any], after: dict[str, Any], case: Case, control: bool = False) -> list[str]:
    # an own-only write (marking one's own notifications read) is audited whoever makes it, and may add the
    # caller's own row to `own_tables` (the control's own row is the change it must make)
    skip = {"audit.AuditEvent", *(() if control else case.own_tables)} if case.own_only else set()
    return [k for k in before if k not in skip and before[k] != after[k]]


def _check(case: Case, api_call: bool) -> None:
    w = authz_world.build()
    clients = {}
    for role in (*authz_world.ROLES, case.control):
        c = Client()
        if role != "anonymous":
            c.force_login(w.users[role])
        clients[role] = c
    before = snapshot()
    for role in authz_world.ROLES:
        if role == case.control:
            continue
        r = _send(clients[role], case, w.ids, api_call)
        assert _refused(r, role, case, api_call), (case.name, role, r.status_code, r.content[:300])
        changed = _changed(before, snapshot(), case)
        assert not changed, (case.name, role, changed)
    r = _send(clients[case.control], case, w.ids, api_call)
    assert r.status_code in (200, 201, 302), (case.name, case.control, r.status_code, r.content[:500])
    if r.status_code == 302:
        assert not r["Location"].startswith("/accounts/login/"), (case.name, r["Location"])
    assert _changed(before, snapshot(), case, control=True), (
        case.name,
        "the control changed nothing: the payload proves nothing",
    )


def _params(table: dict[str, list[Case]]) -> list[Any]:
    return [
        pytest.param(route, case, id=f"{route} | {case.name}")
        for route, cases in table.items()
        for case in cases
    ]


@pytest.mark.parametrize("route,case", _params(PAGE_CASES))
def test_page_write_aimed_at_another_scope_is_refused(route: str, case: Case) -> None:
    _check(case, api_call=False)


@pytest.mark.parametrize("route,case", _params(API_CASES))
def test_api_write_aimed_at_another_scope_is_refused(route: str, case: Case) -> None:
    _check(case, api_call=True)
