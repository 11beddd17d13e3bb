from django.contrib import admin
from django.urls import include, path, re_path, register_converter

from accounts.views import home as signed_in_home
from schoolpartners import pages
from schoolpartners.api import api
from schoolpartners.apikit import not_found as api_not_found
from schoolpartners.health import healthz, readyz
from schoolpartners.params import BoundedIntConverter

register_converter(BoundedIntConverter, "id")  # before the domains' URLs: `<id:pk>`, an int up to 2^63 - 1

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accessibility/", pages.accessibility, name="accessibility"),
    path("cookies/", pages.cookies, name="cookies"),
    path("privacy/", pages.privacy, name="privacy"),
    path("contact/", pages.contact, name="contact"),
    re_path(r"^api/?$", api_not_found),  # before django-ninja's root view (an HTML 404)
    path("api/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", api_not_found),  # unknown API URLs: a JSON problem (404)
    path("accounts/", include("accounts.urls")),
    path(
        "home/", signed_in_home, name="home"
    ),  # what awaits each signed-in role (settings.LOGIN_REDIRECT_URL)
    path("", include("brokerage.urls")),
    path("", include("similarity.urls")),
    path("", include("partnerships.urls")),
    path("", include("notifications.urls")),
    path("", include("audit.urls")),
    path("", include("jobs.urls")),
    path("", include("evaluation.urls")),
    path("", include("support.urls")),
    path("", include("schools.urls")),
]

handler500 = "schoolpartners.middleware.server_error"
