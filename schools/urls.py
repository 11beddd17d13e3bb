from django.urls import path, re_path

from schools import upload_views, views

app_name = "schools"

urlpatterns = [
    path("", views.home, name="home"),
    path("schools/", views.search, name="search"),
    re_path(r"^schools/export\.(?P<fmt>csv|xlsx)$", views.search_export, name="search-export"),
    path("schools/<id:urn>/", views.school_detail, name="detail"),
    re_path(
        r"^schools/(?P<urn>[0-9]+)/(?P<table>results|census|inspections|trusts|links)\.(?P<fmt>csv|xlsx)$",
        views.school_export,
        name="school-export",
    ),
    path("imports/", views.imports, name="imports"),
    path("imports/upload/", upload_views.upload, name="imports-upload"),
    re_path(r"^imports/export\.(?P<fmt>csv|xlsx)$", views.imports_export, name="imports-export"),
]
