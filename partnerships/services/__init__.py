"""Partnership writes: MAT seats, the member -> results mapping, stored trust figures, the join/leave/form
procedures, designations and the ISSP register, one module each. Reads for pages and the API are in
`partnerships.queries`; in-app notifications are the `notifications` app.

Every multi-model write is one function under `transaction.atomic` recording an audit event. Import from here
(`from partnerships import services`); the submodules are an implementation detail.
"""

from __future__ import annotations

from partnerships.aggregates import KEY_STAGES, YEARS
from partnerships.services.common import ProcedureError
from partnerships.services.designations import record_designation
from partnerships.services.figures import (
    RecomputeSummary,
    compute_aggregates,
    recompute,
    recompute_trust,
    result_values,
    store_aggregates,
)
from partnerships.services.issp import REGISTERABLE, post_issp, register_issp, register_partnership
from partnerships.services.mapping import (
    MappingSummary,
    map_members,
    member_urns,
    predecessor_graph,
    results_presence,
)
from partnerships.services.procedures import (
    regional_decision,
    school_consent,
    submit_form,
    submit_join,
    submit_leave,
    trust_consent,
)
from partnerships.services.seats import (
    SeatSync,
    close_membership,
    open_mat_membership,
    open_membership,
    sync_mat_seats,
)

__all__ = [
    "KEY_STAGES",
    "REGISTERABLE",
    "YEARS",
    "MappingSummary",
    "ProcedureError",
    "RecomputeSummary",
    "SeatSync",
    "close_membership",
    "compute_aggregates",
    "map_members",
    "member_urns",
    "open_mat_membership",
    "open_membership",
    "post_issp",
    "predecessor_graph",
    "recompute",
    "recompute_trust",
    "record_designation",
    "regional_decision",
    "register_issp",
    "register_partnership",
    "result_values",
    "results_presence",
    "school_consent",
    "store_aggregates",
    "submit_form",
    "submit_join",
    "submit_leave",
    "sync_mat_seats",
    "trust_consent",
]
