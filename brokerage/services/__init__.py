"""Brokerage writes: derive needs and offers, run matchings, send proposals, respond, track deployments.

Every write is one function under `transaction.atomic` that checks the actor's role (`accounts.permissions`)
and records an audit event. The matching itself is `brokerage.engine` (pure); `matching` only turns the
database into its arrays and its answer back into rows. Reads for pages and the API are in `brokerage.queries`.

- `derive`: data-identified needs and default offers (`derive_from_register`), declared needs and offers;
- `matching`: the engine's inputs from the database, `run_matching` and its stored results;
- `deployments`: proposals, responses, deployments and their entry in the support ledger.
"""

from __future__ import annotations

from brokerage.services.deployments import (
    LEDGER_TYPES,
    CapacityExhausted,
    close_deployment,
    ledger_payload,
    respond,
    send_proposals,
    update_deployment,
)
from brokerage.services.derive import (
    AREA_MEASURES,
    KS2_THRESHOLD,
    MIN_YEARS_BELOW,
    NEED_RATINGS,
    OUT_OF_SCOPE_TYPES,
    P8_THRESHOLD,
    PHASE_BITS,
    PHASE_NAMES,
    STRONG_Z,
    area_z,
    capacity_for,
    declare_need,
    declare_offer,
    derive_from_register,
    eligible_ratings,
    identify_needs,
    in_scope_schools,
    strong_areas,
)
from brokerage.services.matching import (
    active_counts,
    available_q,
    build_problem,
    params_from,
    phase_mask,
    run_matching,
    support_from,
)

__all__ = [
    "AREA_MEASURES",
    "KS2_THRESHOLD",
    "LEDGER_TYPES",
    "MIN_YEARS_BELOW",
    "NEED_RATINGS",
    "OUT_OF_SCOPE_TYPES",
    "P8_THRESHOLD",
    "PHASE_BITS",
    "PHASE_NAMES",
    "STRONG_Z",
    "CapacityExhausted",
    "active_counts",
    "area_z",
    "available_q",
    "build_problem",
    "capacity_for",
    "close_deployment",
    "declare_need",
    "declare_offer",
    "derive_from_register",
    "eligible_ratings",
    "identify_needs",
    "in_scope_schools",
    "ledger_payload",
    "params_from",
    "phase_mask",
    "respond",
    "run_matching",
    "send_proposals",
    "strong_areas",
    "support_from",
    "update_deployment",
]
