"""Measure the brokerage run page (issue 14): page height and where the Send button is, in Chromium.

1. Set up a run on a copy of the national database (creates the broker "measure-broker", runs the region with
   the most open needs):
       DATABASE_URL=sqlite:////tmp/measure.sqlite3 .venv/bin/python scripts/measure_run_page.py setup
2. Serve that database (`runserver 127.0.0.1:PORT`) from the code to measure, then:
       .venv/bin/python scripts/measure_run_page.py measure http://127.0.0.1:PORT LABEL
   It prints JSON: page height, the Send button's top at load, and whether it is in the 1280x800 window while a
   group of matches is being read.
"""

from __future__ import annotations

import json
import os
import sys


def setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolpartners.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from accounts.models import Role, RoleAssignment
    from brokerage import services
    from brokerage.models import Need

    region = (
        Need.objects.filter(is_open=True)
        .values("school__region_name")
        .annotate(n=Count("id"))
        .order_by("-n")[0]["school__region_name"]
    )
    u, _ = get_user_model().objects.get_or_create(username="measure-broker")
    u.set_password("measure-pw-12345")
    u.save()
    RoleAssignment.objects.get_or_create(user=u, role=Role.BROKER, region=region)
    run = services.run_matching(u, region)
    print(
        json.dumps(
            {"region": region, "run": run.pk, "needs": run.summary["needs"], "served": run.summary["served"]}
        )
    )


def measure(base: str, label: str, run: int = 1) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium")
        page = b.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", "measure-broker")
        page.fill("#id_password", "measure-pw-12345")
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()
        page.goto(f"{base}/brokerage/runs/{run}/")
        page.wait_for_load_state()
        height = page.evaluate("document.documentElement.scrollHeight")
        box = page.locator("#send-button").bounding_box() or {"y": 0, "height": 0}
        in_view = None
        if page.locator(".sp-area-group").count():
            page.locator(".sp-area-group summary").first.click()
            page.locator(".sp-area-group summary").first.scroll_into_view_if_needed()
            page.mouse.wheel(0, 600)
            page.wait_for_timeout(300)
            b2 = page.locator("#send-button").bounding_box() or {"y": -1, "height": 0}
            in_view = 0 <= b2["y"] and b2["y"] + b2["height"] <= 800
        print(
            json.dumps(
                {
                    "code": label,
                    "page_height_px": height,
                    "send_button_top_px_at_load": round(box["y"]),
                    "send_button_in_view_while_reading_a_group": in_view,
                }
            )
        )
        b.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["setup"]:
        setup()
    else:
        measure(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")
