"""Every partnerships API operation states its policy; reads answer anonymous callers (200/404) and writes refuse
them (401/403/405) without changing anything."""

from __future__ import annotations

import re

import pytest

from partnerships.models import PartnershipRequest
from schools.tests.factories import SchoolFactory

pytestmark = pytest.mark.django_db


def test_partnerships_operations(client):
    SchoolFactory(urn=100001)
    schema = client.get("/api/openapi.json").json()
    paths = {p: item for p, item in schema["paths"].items() if p.startswith("/api/partnerships")}
    assert len(paths) >= 8
    for path, item in paths.items():
        for method, op in item.items():
            desc = op.get("description", "")
            assert "Public: anyone may read; read-only." in desc or "Signed-in users only" in desc, (
                method,
                path,
            )
            if "Public:" in desc:
                assert method == "get"
        url = re.sub(r"\{[^}]+\}", "1", path)
        assert client.get(url).status_code in (200, 404), url
        for m in ("post", "put", "patch", "delete"):
            r = getattr(client, m)(url, data="{}", content_type="application/json")
            assert r.status_code in (401, 403, 405), (m, url, r.status_code)
    assert not PartnershipRequest.objects.exists()
