from django.urls import path, re_path

from support import views

app_name = "support"

urlpatterns = [
    path("support/", views.ledger, name="ledger"),
    path("support/record/", views.record_activity, name="record"),
    path("support/pledges/", views.pledges, name="pledges"),
    re_path(
        r"^support/pledges/(?P<table>list|region|trust)\.(?P<fmt>csv|xlsx)$",
        views.pledges_export,
        name="pledges-export",
    ),
    path("support/report/", views.report, name="report"),
    re_path(
        r"^support/report/(?P<table>[a-z_]+)\.(?P<fmt>csv|xlsx)$", views.report_export, name="report-export"
    ),
    path("support/import/", views.upload, name="upload"),
]
