"""The DfE trust measures on the trust page, the compare page, their downloads and the API, on trusts built with
factories: plain words (no DfE code on a page), England, percentile, intervals, the summary sentence, numbers
with thousands separators and never "-0.0"."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from openpyxl import load_workbook

from partnerships import dfe_measures as dm
from partnerships.tests.factories import PartnershipResultFactory
from schools.tests.factories import PartnershipFactory

pytestmark = pytest.mark.django_db

KS2 = dm.BY_KEY["ks2_rwm_expected"]
A8 = dm.BY_KEY["ks4_attainment8"]
EM5 = dm.BY_KEY["ks4_english_maths_5"]
RAW_CODE = re.compile(
    r"\b(KS[24]_[A-Z0-9_]+|[A-Z0-9]+_[A-Z0-9_]*(WGTAVG|MATPTINC|INMAT|FSM6CLA1A)\w*|SUPPMAT|NELIG)\b"
)


def _put(trust: Any, code: str, value: float | None, note: str = "") -> None:
    PartnershipResultFactory(partnership=trust, measure=code, value=value, note=note)


def _ks2_trust(
    name: str, ext: str, value: float | None, pupils: float, fsm: float | None = None, dis=None, note=""
):
    t: Any = PartnershipFactory(name=name, external_id=ext)
    _put(t, KS2.code(), value, note)
    _put(t, dm.PUPILS[2], pupils)
    if fsm is not None:
        _put(t, dm.SHARE[2]["disadvantaged"], fsm)
    if dis is not None or note:
        _put(t, KS2.code("disadvantaged"), dis, "" if dis is not None else note)
    return t


@pytest.fixture
def trusts() -> dict[str, Any]:
    others = [_ks2_trust(f"Other Trust {i}", f"TR9{i:04d}", 55.0 + i, 200) for i in range(10)]
    big: Any = _ks2_trust("Big Primary Trust", "TR01234", 80.0, 12345, fsm=40.0, dis=70.0)
    for code, v in (
        (A8.code(), 52.3),
        (EM5.code(), 49.5),
        (dm.PUPILS[4], 2500.0),
        (dm.SHARE[4]["disadvantaged"], 30.0),
    ):
        _put(big, code, v)
    _put(big, EM5.code("disadvantaged"), None, "SUPPMAT")
    for code, v in ((A8.code(), 40.0), (EM5.code(), 30.0), (dm.PUPILS[4], 3000.0)):
        _put(others[0], code, v)
    tiny = _ks2_trust("Tiny Trust", "TR05555", 60.0, 8)
    low = _ks2_trust("Struggling Trust", "TR06666", 20.0, 900)
    suppressed = _ks2_trust("Hidden Trust", "TR07777", None, 40, note="SUPPMAT")
    plain: Any = PartnershipFactory(name="No Results Trust", external_id="TR08888")
    return {"others": others, "big": big, "tiny": tiny, "low": low, "suppressed": suppressed, "plain": plain}


def _england() -> float:
    from partnerships import trust_measures as tm

    ctx = tm.context()
    assert ctx is not None
    e = ctx.refs[KS2.code()].england
    assert e is not None
    return e


def test_trust_page_leads_with_measures_in_words(client, trusts):
    r = client.get(f"/trusts/{trusts['big'].pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    # the section comes before the members table and the older results
    assert html.index('id="trust-measures"') < html.index('id="members"')
    sentence = re.search(r'id="trust-measures-sentence">([^<]+)<', html)
    assert sentence is not None
    # KS2 and grade 5+ have intervals; Attainment 8 does not
    assert sentence.group(1).startswith(
        "Above the England figure on 2 of 2 headline measures, similar on 0, below on 0."
    )
    assert "Attainment 8 has no interval, so it is not counted." in sentence.group(1)
    assert "Reached the expected standard in reading, writing and maths" in html
    assert "12,345" in html  # pupils with thousands separators
    assert "80.0%" in html and " to " in html
    assert "Above England" in html
    assert "Not published: too few pupils or schools" in html  # the SUPPMAT disadvantaged figure, in words
    assert (
        "percentile: higher than 12 of 13 trusts" in html
    )  # 10 others + tiny + low below 80; 13 with a value
    assert not RAW_CODE.search(re.sub(r'href="[^"]*"', "", html)), RAW_CODE.search(html)
    assert "-0.0" not in html
    assert 'id="trust-measures-chart"' in html and "<rect" in html
    assert "style=" not in html.split('id="trust-measures"')[1].split("</section>")[0]


def test_small_and_suppressed_trusts_make_only_supported_claims(client, trusts):
    html = client.get(f"/trusts/{trusts['tiny'].pk}/").content.decode()
    assert "Above the England figure on 0 of 1 headline measure, similar on 1, below on 0." in html
    html = client.get(f"/trusts/{trusts['low'].pk}/").content.decode()
    assert "similar on 0, below on 1." in html and "Below England" in html
    html = client.get(f"/trusts/{trusts['suppressed'].pk}/").content.decode()
    assert "No measure has both an interval and an England figure, so no comparison is made." in html
    assert not RAW_CODE.search(re.sub(r'href="[^"]*"', "", html))
    html = client.get(f"/trusts/{trusts['plain'].pk}/").content.decode()
    assert 'id="trust-measures-none"' in html


def test_england_is_the_pupil_weighted_figure_of_all_trusts(trusts):
    rows = [(55.0 + i, 200) for i in range(10)] + [(80.0, 12345), (60.0, 8), (20.0, 900)]
    expected = sum(v * n for v, n in rows) / sum(n for _, n in rows)
    assert _england() == pytest.approx(expected, abs=1e-4)


def test_measure_downloads_keep_the_codes(client, trusts):
    pk = trusts["big"].pk
    r = client.get(f"/trusts/{pk}/measures.csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    by_code = {row["DfE code (key stage prefix + field)"]: row for row in rows}
    ks2 = by_code[KS2.code()]
    assert ks2["Trust value"] == "80" and ks2["Compared with England (by the interval)"] == "above"
    assert float(ks2["95% interval low"]) < 80 < float(ks2["95% interval high"])
    assert float(ks2["England (pupil-weighted over all trusts)"]) == pytest.approx(_england(), abs=1e-3)
    assert by_code[EM5.code("disadvantaged")]["DfE code for a missing value"] == "SUPPMAT"
    assert by_code[A8.code()]["Why no interval"].startswith("no interval")
    r = client.get(f"/trusts/{pk}/measures.xlsx")
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb.active
    assert ws is not None and ws.max_row == len(rows) + 1


def test_compare_page_picks_trusts_by_name_and_id(client, trusts):
    r = client.get("/trusts/", {"pick": "TR01234\nstruggling, Tiny Trust, nothing like this, Other"})
    html = r.content.decode()
    assert r.status_code == 200
    table = html.split('id="side-by-side-table"')[1].split("</table>")[0]
    head = table.split("<thead")[1].split("</thead>")[0]
    # England and the median trust, then the picked trusts in the order asked
    assert head.index("England") < head.index("Median trust") < head.index("Big Primary Trust")
    assert head.index("Big Primary Trust") < head.index("Struggling Trust") < head.index("Tiny Trust")
    assert "No multi-academy trust matches" in html and "nothing like this" in html
    assert (
        "matches several trusts" in html and "Other Trust 3 (TR90003)" in html
    )  # ambiguous: offered as links
    assert "Above England" in table and "Below England" in table and "Similar to England" in table
    assert not RAW_CODE.search(re.sub(r'href="[^"]*"', "", html.split('id="compare-measures"')[1]))
    # with no pick: England and the median still shown
    html = client.get("/trusts/").content.decode()
    assert 'id="side-by-side-table"' in html and "Median trust" in html
    # its download
    r = client.get("/trusts/side-by-side.csv", {"pick": "TR01234, TR06666"})
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    assert {row["DfE trust id"] for row in rows} == {"TR01234", "TR06666"}
    assert all(
        row["England (pupil-weighted over all trusts)"]
        for row in rows
        if row["DfE code (key stage prefix + field)"] == KS2.code()
    )


def test_api_measures_and_side_by_side(client, trusts):
    r = client.get(f"/api/partnerships/trusts/{trusts['big'].pk}/measures")
    assert r.status_code == 200
    body = r.json()
    assert body["external_id"] == "TR01234" and body["year"] == 2025 and body["academic_year"] == "2024/25"
    assert body["summary"].startswith("Above the England figure on 2 of 2")
    assert (body["above"], body["similar"], body["below"]) == (2, 0, 0)
    m = {x["code"]: x for x in body["measures"]}
    assert m[KS2.code()]["label"].startswith("Reached the expected standard")
    assert m[KS2.code()]["verdict"] == "above" and m[KS2.code()]["low"] < 80 < m[KS2.code()]["high"]
    assert m[KS2.code()]["percentile"] == pytest.approx(100 * 12.5 / 13, abs=0.1)
    assert m[A8.code()]["low"] is None and m[A8.code()]["verdict"] == ""
    assert m[EM5.code("disadvantaged")]["note"] == "SUPPMAT" and m[EM5.code("disadvantaged")]["value"] is None
    assert client.get(f"/api/partnerships/trusts/{trusts['plain'].pk}/measures").json()["measures"] == []
    assert client.get("/api/partnerships/trusts/999999/measures").status_code == 404
    r = client.get("/api/partnerships/trusts/side-by-side", {"pick": "TR06666, Tiny Trust, zzz, Other"})
    body = r.json()
    assert [t["external_id"] for t in body["trusts"]] == ["TR06666", "TR05555"]
    assert body["unmatched"] == ["zzz"] and len(body["ambiguous"]["Other"]) == 6
    ks2 = next(row for row in body["rows"] if row["code"] == KS2.code())
    assert ks2["england"] == pytest.approx(_england(), abs=1e-3)
    assert [c["verdict"] for c in ks2["cells"]] == ["below", "similar"]
