"""Issue 14: the run page explains its result in words, groups matches by area with a send bar, and labels cold
spots with the run's own radius ladder (a what-if run at 4 miles never speaks of 50 or 75 miles)."""

from __future__ import annotations

import pytest

from brokerage import queries, services
from brokerage.tests.helpers import world
from brokerage.views import cold_columns
from schools.tests.factories import empty_database  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


def test_standard_run_in_words_and_grouped_by_area(client):
    w = world()
    run = services.run_matching(w.broker, "West Midlands")
    client.force_login(w.broker)
    html = client.get(f"/brokerage/runs/{run.pk}/").content.decode()
    words = queries.run_summary_words(run, queries.result_rows(run))
    assert f"{words['served']} of {words['needs']} needs matched" in html
    assert f"{words['unserved']} unserved" in html and "miles on average" in html
    assert "Total cost" not in html
    assert 'id="send-bar"' in html and 'id="select-all"' in html
    groups = queries.matched_by_area(queries.result_rows(run))
    assert sum(len(g["rows"]) for g in groups) == words["served"]
    for g in groups:
        assert f'id="{g["slug"]}"' in html
    assert "within 50 miles, the middle rung of this run's ladder (25, 50, 75 miles)" in html


def test_a_what_if_run_at_4_miles_labels_cold_spots_with_its_own_ladder(client):
    w = world()
    run = services.run_matching(w.broker, "West Midlands", {"max_radius": 4, "national": False})
    assert queries.run_ladder(run) == pytest.approx((4 / 3, 8 / 3, 4))
    client.force_login(w.broker)
    html = client.get(f"/brokerage/runs/{run.pk}/").content.decode()
    assert "None within 2.7 miles" in html and "None within 4 miles" in html
    assert "50 miles" not in html and "75 miles" not in html
    assert "1.3, 2.7, 4 miles; no national matches" in html
    cold = queries.cold_spots(run)
    assert [c.label for c in cold_columns(cold)][3:5] == [
        "No compatible offer within 2.7 miles",
        "No compatible offer within 4 miles",
    ]
    # every need beyond the middle rung counts, and "None within reach" is explained
    region = cold["by_region"][0]
    assert region["beyond_middle"] >= region["beyond_outer"] >= 1
    if any(r["nearest_miles"] is None for r in queries.result_rows(run)):
        assert "None within reach" in html and 'id="nearest-explained"' in html
    csv = b"".join(client.get(f"/brokerage/runs/{run.pk}/coldspots-region.csv").streaming_content).decode()
    assert "No compatible offer within 2.7 miles" in csv and "50" not in csv.splitlines()[0]


def test_sending_nothing_says_so(client):
    w = world()
    run = services.run_matching(w.broker, "West Midlands")
    client.force_login(w.broker)
    r = client.post(f"/brokerage/runs/{run.pk}/send/", {}, follow=True)
    assert "Select at least one proposal to send." in r.content.decode()
