"""Partnership pages, one module per area: `trusts` (compare, a trust, mapping, methodology, sponsors),
`procedures` (join/leave/form requests and decisions) and `register` (designations, the register, the ISSP board,
the grant calculator). Views validate input, read through `partnerships.queries`, write through
`partnerships.services` and render."""

from __future__ import annotations

from partnerships.views.measures import compare_measures_export, trust_measures_export
from partnerships.views.procedures import (
    join,
    request_decide,
    request_detail,
    requests_export,
    requests_list,
)
from partnerships.views.register import (
    designation_new,
    designations,
    designations_export,
    grant,
    issp,
    issp_export,
    issp_post,
    register,
)
from partnerships.views.trusts import (
    compare,
    compare_export,
    mapping,
    mapping_export,
    methodology,
    sponsors,
    trust,
    trust_export,
)

__all__ = [
    "compare",
    "compare_export",
    "compare_measures_export",
    "designation_new",
    "designations",
    "designations_export",
    "grant",
    "issp",
    "issp_export",
    "issp_post",
    "join",
    "mapping",
    "mapping_export",
    "methodology",
    "register",
    "request_decide",
    "request_detail",
    "requests_export",
    "requests_list",
    "sponsors",
    "trust",
    "trust_export",
    "trust_measures_export",
]
