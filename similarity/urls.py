from django.urls import path, re_path

from similarity import views

app_name = "similarity"

urlpatterns = [
    path("schools/<id:urn>/similar/", views.school_similar, name="school"),
    re_path(
        r"^schools/(?P<urn>[0-9]+)/similar/(?P<table>family|strengths|pairs)\.(?P<fmt>csv|xlsx)$",
        views.school_export,
        name="school-export",
    ),
    path("similarity/coverage/", views.coverage, name="coverage"),
    re_path(r"^similarity/coverage\.(?P<fmt>csv|xlsx)$", views.coverage_export, name="coverage-export"),
    path("similarity/runs/", views.runs, name="runs"),
    re_path(r"^similarity/runs\.(?P<fmt>csv|xlsx)$", views.runs_export, name="runs-export"),
    path("similarity/methodology/", views.methodology, name="methodology"),
]
