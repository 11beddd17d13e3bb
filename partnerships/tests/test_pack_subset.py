"""Aggregates on a small real subset of the data pack: one real trust's academies with their real 2017/18 KS2
results, and one real academy matched to its predecessor through the real GIAS links. Expected figures are
computed here independently, straight from the CSV text."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest

from partnerships import services
from partnerships.models import Kind, MemberMapping, TrustAggregate
from schools.tests.factories import (
    MembershipFactory,
    PartnershipFactory,
    ResultFactory,
    SchoolFactory,
    SchoolLinkFactory,
    empty_database,  # noqa: F401 - fixture
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _num(text: str) -> float | None:
    text = text.strip().rstrip("%")
    try:
        return float(text)
    except ValueError:
        return None


def test_real_trust_weighted_means(pack_dir: Path):
    trusts = _rows(pack_dir / "trusts" / "england_ks2-mats-performance_2024-25.csv")
    perf = {r["URN"]: r for r in _rows(pack_dir / "performance" / "ks2_perf_2018.csv")}
    chosen = None
    for t in trusts:
        urns = [u for u in t["INSTITUTIONS_INMAT"].split(";") if u.strip()]
        if 4 <= len(urns) <= 6 and all(
            u in perf and _num(perf[u]["Reading Progress"]) is not None and _num(perf[u]["KS2 Pupils"])
            for u in urns
        ):
            chosen = (t, urns)
            break
    assert chosen is not None
    t, urns = chosen
    trust: Any = PartnershipFactory(kind=Kind.MAT, name=t["TRUST_NAME"], external_id=t["TRUST_ID"])
    for u in urns:
        s = SchoolFactory(urn=int(u), name=f"URN {u}")
        MembershipFactory(partnership=trust, school=s, joined=dt.date(2012, 9, 1))  # in the trust by 2017/18
        row = perf[u]
        for measure, col in (
            ("READPROG", "Reading Progress"),
            ("MATPROG", "Maths Progress"),
            ("TELIG", "KS2 Pupils"),
            ("PTRWM_EXP", "Overall Meet Std"),
        ):
            v = _num(row[col])
            if v is not None:
                ResultFactory(school=s, year=2018, measure=measure, value=v)
    services.recompute()
    agg = TrustAggregate.objects.get(partnership=trust)
    perf_rows = {(p["measure"], p["year"]): p for p in agg.performance}
    for measure, col, se_of in (
        ("READPROG", "Reading Progress", lambda v, n: 6.0 / math.sqrt(n)),
        ("PTRWM_EXP", "Overall Meet Std", lambda v, n: 100 * math.sqrt((v / 100) * (1 - v / 100) / n)),
    ):
        raw = [(_num(perf[u][col]), _num(perf[u]["KS2 Pupils"])) for u in urns]
        pairs = [(v, n) for v, n in raw if v is not None and n is not None and n > 0]
        total = sum(n for _, n in pairs)
        mean = sum(v * n for v, n in pairs) / total
        se = math.sqrt(sum((n * se_of(v, n)) ** 2 for v, n in pairs)) / total
        got = perf_rows[(measure, 2018)]
        assert got["mean"] == pytest.approx(mean, abs=1e-9)
        assert got["se"] == pytest.approx(se, abs=1e-9)
        assert got["high"] - got["low"] == pytest.approx(2 * 1.96 * se)
        assert got["schools"] == len(pairs) and got["pupils"] == int(total)


def test_real_academy_matched_through_a_real_predecessor_link(pack_dir: Path):
    trusts = _rows(pack_dir / "trusts" / "england_ks2-mats-performance_2024-25.csv")
    perf = {r["URN"]: r for r in _rows(pack_dir / "performance" / "ks2_perf_2018.csv")}
    with (pack_dir / "register" / "links_edubasealldata20250422.csv").open(
        encoding="cp1252", newline=""
    ) as f:
        links = list(csv.DictReader(f))
    preds: dict[str, list[dict[str, str]]] = {}
    for link in links:
        if "predecessor" in link["LinkType"].lower():
            preds.setdefault(link["URN"], []).append(link)
    found: tuple[str, dict[str, str]] | None = None
    for t in trusts:
        for u in (x for x in t["INSTITUTIONS_INMAT"].split(";") if x.strip()):
            if u in perf and _num(perf[u]["Reading Progress"]) is not None:
                continue
            hits = [
                lk
                for lk in preds.get(u, [])
                if lk["LinkURN"] in perf and _num(perf[lk["LinkURN"]]["Reading Progress"]) is not None
            ]
            if len(hits) == 1 and len(preds[u]) == 1:
                found = (u, hits[0])
                break
        if found:
            break
    assert found is not None
    urn, link = found
    assert isinstance(link, dict)
    academy: Any = SchoolFactory(urn=int(urn))
    old: Any = SchoolFactory(urn=int(link["LinkURN"]))
    SchoolLinkFactory(urn=academy.urn, link_urn=old.urn, link_type=link["LinkType"])
    ResultFactory(
        school=old, year=2018, measure="READPROG", value=_num(perf[link["LinkURN"]]["Reading Progress"])
    )
    MembershipFactory(school=academy)
    services.map_members()
    m = MemberMapping.objects.get(urn=academy.urn, key_stage=2, year=2018)
    assert (m.results_urn, m.method, m.hops) == (old.urn, "link", 1)


def test_real_merger_137656_takes_the_larger_cohort(pack_dir: Path):
    """King James Academy Royston (137656) replaced two merged academies with 2018/19 KS2 results: 137657 (57
    pupils in 2017/18) and 137658 (120). The documented rule takes the larger cohort: 137658."""
    perf18 = {r["URN"]: r for r in _rows(pack_dir / "performance" / "ks2_perf_2018.csv")}
    final19 = {r["URN"]: r for r in _rows(pack_dir / "performance" / "england_ks2final_2018-19.csv")}
    with (pack_dir / "register" / "links_edubasealldata20250422.csv").open(
        encoding="cp1252", newline=""
    ) as f:
        links = [
            r for r in csv.DictReader(f) if r["URN"] == "137656" and "predecessor" in r["LinkType"].lower()
        ]
    assert {r["LinkURN"] for r in links} >= {"137657", "137658"}
    for r in links:
        SchoolLinkFactory(urn=137656, link_urn=int(r["LinkURN"]), link_type=r["LinkType"])
    member = SchoolFactory(urn=137656, name="King James Academy Royston")
    MembershipFactory(partnership=PartnershipFactory(kind=Kind.MAT), school=member)
    for u in ("137657", "137658"):
        s = SchoolFactory(urn=int(u))
        ResultFactory(school=s, year=2018, measure="TELIG", value=float(perf18[u]["KS2 Pupils"]))
        ResultFactory(school=s, year=2019, measure="READPROG", value=float(final19[u]["READPROG"]))
    assert (perf18["137657"]["KS2 Pupils"], perf18["137658"]["KS2 Pupils"]) == ("57", "120")
    services.map_members()
    m = MemberMapping.objects.get(urn=137656, key_stage=2, year=2019)
    assert (m.results_urn, m.method) == (137658, "link")
