"""The JSON API root (django-ninja). Each domain adds its router here. OpenAPI at /api/openapi.json.

One boundary for every router (schoolpartners/apikit.py): errors answer JSON problem bodies, lists are paged
by `Paginated`, every operation derives its description, authentication and documented errors from its access
policy (schoolpartners/access.py), and writes pass the write throttle. As the composition root this module may
map a domain's own exceptions to a status (`EXTRA_PROBLEMS`).
"""

from schoolpartners.apidocs import LocalSwagger
from schoolpartners.apikit import API, install

api = API(
    title="School Partners API",
    version="1",
    description=(
        "Read access to the national school register is public. Every operation states its access policy "
        "first in its description (and as `x-access-policy`). Errors are JSON problem bodies "
        "(RFC 9457: `type`, `title`, `status`, `detail`, and `errors` for invalid fields); lists are paged "
        "(`count`, `page`, `page_size`, `results`); writes are rate-limited per user (429)."
    ),
    docs_url="/docs",
    docs=LocalSwagger(),  # swagger-ui from our static files, not a CDN
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

from jobs.api import router as jobs_router  # noqa: E402

api.add_router("/jobs", jobs_router)

from brokerage.services import CapacityExhausted  # noqa: E402
from partnerships.services import ProcedureError  # noqa: E402

# Domain exceptions (Django ValidationError subclasses, 400 by default) that mean something more specific.
EXTRA_PROBLEMS: dict[type[Exception], int] = {
    ProcedureError: 409,  # a procedure step refused: already taken, already in a MAT, ...
    CapacityExhausted: 409,  # the offer has no place left
}
install(api, EXTRA_PROBLEMS)
