from django.contrib import admin
from django.urls import include, path

from schoolpartners.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("schools.urls")),
]
