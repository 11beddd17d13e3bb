"""The JSON API root (django-ninja). Each domain adds its router here. OpenAPI at /api/openapi.json."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="School Partners API",
    version="1",
    description=(
        "Read access to the national school register is public. Every operation states its access policy "
        "in its description."
    ),
    docs_url="/docs",
    openapi_url="/openapi.json",
)

from schools.api import measures_router  # noqa: E402
from schools.api import router as schools_router  # noqa: E402

api.add_router("/schools", schools_router)
api.add_router("/measures", measures_router)

from similarity.api import router as similarity_router  # noqa: E402

# full paths (/schools/{urn}/family, /similarity/coverage, ...): no clash with the /schools router's routes
api.add_router("/", similarity_router)

from evaluation.api import router as evaluation_router  # noqa: E402

api.add_router("/", evaluation_router)

from brokerage.api import router as brokerage_router  # noqa: E402

api.add_router("/", brokerage_router)

from partnerships.api import router as partnerships_router  # noqa: E402

api.add_router("/partnerships", partnerships_router)

from support.api import router as support_router  # noqa: E402

api.add_router("/support", support_router)
