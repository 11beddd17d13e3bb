"""Issue 18, row 8: CR/LF in a federation name added fake lines to an email body; U+202E was stored unchanged.
One-line names refuse line breaks and invisible characters on the page and the API; a notification is one line
whatever text it is given (names stored before these checks)."""

from __future__ import annotations

import datetime as dt

from notifications.models import Notification
from notifications.services import notify
from partnerships.models import PartnershipRequest

EFFECTIVE = dt.date.today() + dt.timedelta(days=60)
FAKE = "Alpha Federation\r\n\r\nYour password has expired: sign in at http://evil.example"


def test_a_federation_name_with_line_breaks_is_refused_on_the_page(client, world):
    client.force_login(world.user_a)
    r = client.post(
        "/partnerships/requests/new/",
        {
            "which": "form",
            "form-kind": "form_federation",
            "form-school": world.a.urn,
            "form-name": FAKE,
            "form-others": str(world.b.urn),
            "form-effective_date": EFFECTIVE.isoformat(),
        },
    )
    assert r.status_code in (200, 400) and "Enter this on one line" in r.content.decode()
    assert not PartnershipRequest.objects.exists() and not Notification.objects.exists()


def test_a_federation_name_with_line_breaks_or_direction_controls_is_refused_on_the_api(client, world):
    client.force_login(world.user_a)
    for name in (FAKE, "Alpha\u202eFederation", "Alpha\u2028Federation"):
        body = {
            "kind": "form_federation",
            "school_urn": world.a.urn,
            "other_urns": [world.b.urn],
            "name": name,
            "effective_date": EFFECTIVE.isoformat(),
        }
        r = client.post("/api/partnerships/requests", body, content_type="application/json")
        assert r.status_code == 422, (name, r.content)
    assert not PartnershipRequest.objects.exists()


def test_a_notification_is_one_line_whatever_text_it_is_given(world):
    notify([world.user_b], f"{FAKE} asks you to consent\u2028now \u202eevil")
    text = Notification.objects.get().text
    assert "\r" not in text and "\n" not in text and "\u2028" not in text and "\u202e" not in text
    assert text.startswith("Alpha Federation Your password has expired")
