"""Unit tests of the importer's parsing: codes, percentages, encodings, years, phases, Ofsted ties."""

from __future__ import annotations

import lzma
import math
from pathlib import Path

import pandas as pd
import pytest

from schools.importers.ofsted import latest_inspections
from schools.importers.reading import (
    Source,
    StructuralError,
    Table,
    decode,
    numbers,
    read_csv,
    year_from_name,
)
from schools.importers.register import outward, phase_from_flags, type_group
from schools.importers.results import national_averages


def src(data: bytes, name: str = "f.csv") -> Source:
    return Source(path=Path(name), name=name, data=data, sha256="x")


def table(values: list[str], column: str = "V") -> Table:
    return Table(src(b"", "t.csv"), pd.DataFrame({column: values}))


@pytest.mark.parametrize("code", ["SUPP", "NP", "NE", "NA", "LOWCOV", "x", "SUPPMAT", "NELIG"])
def test_codes_become_null_with_code_in_note(code: str) -> None:
    values, notes = numbers(table(["12", code, ""]), "V")
    assert values.iloc[0] == 12.0
    assert math.isnan(values.iloc[1]) and notes.iloc[1] == code.upper()
    assert math.isnan(values.iloc[2]) and notes.iloc[2] == ""  # blank: missing, no code, never 0


def test_percent_strings() -> None:
    values, notes = numbers(table(["44.98%", "61%", "0%", "100.00%", "49.5", " 7 "]), "V")
    assert values.tolist() == [44.98, 61.0, 0.0, 100.0, 49.5, 7.0]
    assert set(notes) == {""}


def test_bad_number_names_line_column_value() -> None:
    with pytest.raises(StructuralError) as exc:
        numbers(table(["1", "2", "3.4.5"], "NOR"), "NOR")
    e = exc.value
    assert (e.file, e.line, e.column, e.value) == ("t.csv", 4, "NOR", "3.4.5")


def test_integer_column_refuses_fraction() -> None:
    with pytest.raises(StructuralError, match="not a whole number"):
        numbers(table(["1", "2.5"]), "V", integer=True)


def test_decode_utf8_bom_and_plain() -> None:
    assert decode(src("\ufeffURN,Name\n1,Café\n".encode()))[1] == "utf-8-sig"
    text, enc = decode(src("URN,Name\n1,Café\n".encode()))
    assert enc == "utf-8" and "Café" in text


def test_decode_windows_1252() -> None:
    text, enc = decode(src(b"URN,Name\r\n1,Ecole \xe0 Londres \x96 annex\r\n"))
    assert enc == "cp1252"
    assert "à" in text and "–" in text


def test_decode_neither_is_refused_with_location() -> None:
    with pytest.raises(StructuralError) as exc:
        decode(src(b"URN,Name\r\n1,ok\r\n2,bad\x81byte\r\n"))
    assert (
        exc.value.line == 3
        and exc.value.column == "Name"
        and "neither UTF-8 nor Windows-1252" in exc.value.problem
    )


def test_utf16_refused() -> None:
    with pytest.raises(StructuralError, match="UTF-16"):
        decode(src("URN\n1\n".encode("utf-16")))


def test_xz_is_read_transparently(tmp_path: Path) -> None:
    p = tmp_path / "ofsted_ratings_2018.csv.xz"
    p.write_bytes(lzma.compress(b"URN,Rating,Inspection Date\n100000,Good,20130418\n"))
    s = Source.open(p)
    assert s.name == "ofsted_ratings_2018.csv"
    t, _ = read_csv(s, ["URN", "Rating", "Inspection Date"])
    assert t.df.iloc[0].tolist() == ["100000", "Good", "20130418"]


def test_line_numbers_follow_quoted_newlines() -> None:
    s = src(b'URN,Name\n1,"two\nlines"\n2,x\n3,y\n')
    t, _ = read_csv(s, ["URN", "Name"])
    assert [t.line_of(i) for i in range(3)] == [2, 4, 5]


@pytest.mark.parametrize(
    ("name", "year"),
    [
        ("ks2_perf_2016.csv", 2016),
        ("england_ks2final_2018-19.csv", 2019),
        ("england_census_2018-19.csv", 2019),
        ("england_census_2024-25.csv", 2025),
        ("ks4_2024-25_secondary.json", 2025),
        ("england_spine_2017-2018.csv", 2018),
    ],
)
def test_year_is_the_year_the_academic_year_ends(name: str, year: int) -> None:
    assert year_from_name(name) == year


def test_phase_from_flags_and_ages() -> None:
    s = lambda *v: pd.Series(list(v), dtype=float)  # noqa: E731
    got = phase_from_flags(
        s(1, 0, 1, 1, 1, 0),
        s(0, 1, 1, 1, 1, 0),
        s(0, 1, 1, 0, 0, 1),
        s(3, 11, 4, 9, 8, 16),
        s(11, 18, 18, 13, 12, 19),
    )
    assert got.tolist() == [
        "primary",
        "secondary",
        "all_through",
        "middle_secondary",
        "middle_primary",
        "16_plus",
    ]


def test_type_group() -> None:
    got = type_group(
        pd.Series(["Academy", "Maintained School", "Independent School", "Special School", "College", "n/a"]),
        pd.Series(
            [
                "Academy - Converter mainstream",
                "Community school",
                "Other independent school",
                "Community special school",
                "Sixth form college",
                "Service childrens education",
            ]
        ),
    )
    assert got.tolist() == ["academy", "maintained", "independent", "special", "college", "other"]


def test_postcode_district() -> None:
    assert outward(pd.Series(["EC3A 5DE", "le16 8rh", "", "SW1A1AA"])).tolist() == [
        "EC3A",
        "LE16",
        "",
        "SW1A",
    ]


def test_latest_inspection_same_date_tie_prefers_the_grade_valid_then() -> None:
    insp = pd.DataFrame(
        {
            "school_id": [1, 1, 1, 2, 2],
            "date": ["2013-12-04", "2013-12-04", "2010-01-01", "2011-05-05", "2011-05-05"],
            "rating": [
                "Satisfactory",
                "Requires Improvement",
                "Good",
                "Requires Improvement",
                "Satisfactory",
            ],
        }
    )
    latest = latest_inspections(insp).set_index("urn")
    assert latest.loc[1, "ofsted_rating"] == "Requires Improvement"  # renamed from Sept 2012
    assert latest.loc[1, "ofsted_date"] == "2013-12-04"
    assert latest.loc[2, "ofsted_rating"] == "Satisfactory"  # before Sept 2012


def test_national_average_is_pupil_weighted_over_state_funded_mainstream() -> None:
    long = pd.DataFrame(
        {
            "school_id": [1, 2, 3, 1, 2, 3, 1, 2],
            "year": [2019] * 8,
            "measure": ["PTRWM_EXP"] * 3 + ["TELIG"] * 3 + ["READPROG"] * 2,
            "value": [50.0, 100.0, 0.0, 10.0, 30.0, 1000.0, 1.5, -2.0],
        }
    )
    types = pd.DataFrame({"urn": [1, 2, 3], "type_group": ["academy", "maintained", "independent"]})
    nat = national_averages(long, types, "f.csv").set_index("measure")
    assert nat.loc["PTRWM_EXP", "value"] == pytest.approx((50 * 10 + 100 * 30) / 40)  # school 3 excluded
    assert nat.loc["PTRWM_EXP", "schools"] == 2
    assert nat.loc["READPROG", "value"] == 0.0  # value-added: 0 by construction
    assert "TELIG" not in nat.index  # counts get no average
