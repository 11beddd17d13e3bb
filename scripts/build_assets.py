"""Copy the front-end assets installed by npm into the static folder Django serves.

GOV.UK Frontend ships precompiled CSS/JS in dist/; Leaflet ships dist/ too; swagger-ui-dist (for /api/docs)
ships its bundle at the package root;
accessible-autocomplete (the trust picker) ships dist/. Run by `make assets`.
"""

from __future__ import annotations

import lzma
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"
VENDOR = ROOT / "schoolpartners" / "static" / "vendor"
# England's district outlines (ONS, OGL) travel in the data bundle; maps draw them when no tile server answers.
OUTLINES = ROOT / "data" / "bundle" / "england_lad_2024-05_buc.geojson.xz"
OUTLINES_STATIC = VENDOR / "geo" / "england-districts.geojson"

COPIES = [
    ("govuk-frontend/dist/govuk/govuk-frontend.min.css", "govuk/govuk-frontend.min.css"),
    ("govuk-frontend/dist/govuk/govuk-frontend.min.js", "govuk/govuk-frontend.min.js"),
    ("govuk-frontend/dist/govuk/assets", "govuk/assets"),
    ("leaflet/dist/leaflet.js", "leaflet/leaflet.js"),
    ("leaflet/dist/leaflet.css", "leaflet/leaflet.css"),
    ("leaflet/dist/images", "leaflet/images"),
    ("swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"),
    ("swagger-ui-dist/swagger-ui.css", "swagger-ui/swagger-ui.css"),
    (
        "accessible-autocomplete/dist/accessible-autocomplete.min.js",
        "accessible-autocomplete/accessible-autocomplete.min.js",
    ),
    (
        "accessible-autocomplete/dist/accessible-autocomplete.min.css",
        "accessible-autocomplete/accessible-autocomplete.min.css",
    ),
]


def main() -> int:
    missing = [src for src, _ in COPIES if not (NODE / src).exists()]
    if missing:
        print(f"build_assets: missing {missing}; run `npm ci` first", file=sys.stderr)
        return 1
    for src, dst in COPIES:
        target = VENDOR / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        if (NODE / src).is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(NODE / src, target)
        else:
            shutil.copy2(NODE / src, target)
    OUTLINES_STATIC.parent.mkdir(parents=True, exist_ok=True)
    OUTLINES_STATIC.write_bytes(lzma.decompress(OUTLINES.read_bytes()))
    # The precompiled CSS points at /assets/...; point it at the copied assets instead (relative URL).
    css = VENDOR / "govuk" / "govuk-frontend.min.css"
    css.write_text(css.read_text(encoding="utf-8").replace("url(/assets/", "url(assets/"), encoding="utf-8")
    print(
        f"build_assets: copied {len(COPIES)} asset groups and the district outlines to {VENDOR.relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
