"""A school's predecessors and successors, followed through every GIAS link (reads; no writes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from schools.lineage import Lineage, predecessor_map, resolve_lineages
from schools.models import Result, School, SchoolLink, Status


@dataclass
class LinkedSchool:
    urn: int
    name: str
    link_type: str
    established: object
    via_urn: int
    depth: int
    direction: str  # "predecessor" or "successor"
    via_name: str = ""
    in_register: bool = False
    result_years: list[int] = field(default_factory=list)

    @property
    def has_results(self) -> bool:
        return bool(self.result_years)


def _invert_link_type(link_type: str) -> str:
    low = link_type.lower()
    if low.startswith("predecessor"):
        return "Successor" + link_type[len("predecessor") :]
    if low.startswith("successor"):
        return "Predecessor" + link_type[len("successor") :]
    return link_type


def _direction(link_type: str) -> str:
    low = link_type.lower()
    return (
        "predecessor" if low.startswith("predecessor") else "successor" if low.startswith("successor") else ""
    )


def link_chain(urn: int, max_depth: int = 25) -> tuple[list[LinkedSchool], list[LinkedSchool]]:
    """Predecessors (and their predecessors...) and successors (and theirs...) of a school from GIAS links.

    Links are read in both directions (a link stored only as the other school's Successor counts as our
    Predecessor). Each URN is visited once, so cycles in the link data end the walk. One query per level,
    then one for names and one for the years with results.
    """
    seen = {urn}
    found: list[LinkedSchool] = []
    frontier: dict[int, str] = {urn: ""}  # urn -> direction followed ("" = both, for the school itself)
    depth = 1
    while frontier and depth <= max_depth:
        links = SchoolLink.objects.filter(
            Q(urn__in=list(frontier)) | Q(link_urn__in=list(frontier))
        ).values_list("urn", "link_urn", "link_name", "link_type", "established")
        candidates: dict[int, LinkedSchool] = {}
        direct: set[int] = set()
        for a, b, name, link_type, established in sorted(links, key=lambda r: (r[0], r[1], r[3])):
            if a in frontier:
                via, other, kind, is_direct = a, b, link_type, True
            elif b in frontier:
                via, other, kind, is_direct = b, a, _invert_link_type(link_type), False
                name = ""
            else:
                continue
            direction = _direction(kind)
            if not direction or (frontier[via] and frontier[via] != direction) or other in seen:
                continue
            if other in candidates and (other in direct or not is_direct):
                continue
            candidates[other] = LinkedSchool(
                urn=other,
                name=name,
                link_type=kind,
                established=established,
                via_urn=via,
                depth=depth,
                direction=direction,
            )
            if is_direct:
                direct.add(other)
        found.extend(candidates.values())
        seen.update(candidates)
        frontier = {u: c.direction for u, c in candidates.items()}
        depth += 1
    if found:
        urns = [f.urn for f in found]
        names = dict(School.objects.filter(urn__in=urns).values_list("urn", "name"))
        years: dict[int, set[int]] = {}
        for school_id, year in (
            Result.objects.filter(school_id__in=urns).values_list("school_id", "year").distinct()
        ):
            years.setdefault(school_id, set()).add(year)
        for f in found:
            f.in_register = f.urn in names
            f.name = names.get(f.urn) or f.name or f"URN {f.urn}"
            f.result_years = sorted(years.get(f.urn, ()))
        by_urn = {f.urn: f.name for f in found}
        for f in found:
            f.via_name = by_urn.get(f.via_urn, "")
    found.sort(key=lambda f: (f.depth, str(f.established or ""), f.urn))
    return [f for f in found if f.direction == "predecessor"], [
        f for f in found if f.direction == "successor"
    ]


# ---------------------------------------------------------------------------------------------------------------
# Results lineage (the walk itself is pure: schools.lineage)
# ---------------------------------------------------------------------------------------------------------------
OPEN_STATUSES = (Status.OPEN, Status.PENDING_CLOSURE)


def lineage_links() -> dict[int, list[tuple[int, str]]]:
    """Every stored GIAS link as a predecessor map (two queries: the links and the open URNs)."""
    links = SchoolLink.objects.values_list("urn", "link_urn", "link_type")
    open_urns = School.objects.filter(status__in=OPEN_STATUSES).values_list("urn", flat=True)
    return predecessor_map(links.iterator(chunk_size=5000), open_urns.iterator(chunk_size=5000))


def results_lineages(
    targets: list[int], has_results: set[int], weight: dict[int, float] | None = None
) -> dict[int, Lineage]:
    """{urn: schools.lineage.Lineage}: for each target, itself when it is in `has_results`, else the nearest
    predecessor through GIAS links that is (larger weight, then lower URN, on a tie)."""
    return resolve_lineages(targets, lineage_links(), has_results, weight)
