from django.urls import path, re_path

from brokerage import views

app_name = "brokerage"

urlpatterns = [
    path("brokerage/", views.home, name="home"),
    path("brokerage/runs/<id:run_id>/", views.run_detail, name="run"),
    path("brokerage/runs/<id:run_id>/send/", views.send, name="send"),
    re_path(
        r"^brokerage/runs/(?P<run_id>[0-9]+)/(?P<table>results|coldspots-la|coldspots-region|districts)\.(?P<fmt>csv|xlsx)$",
        views.run_export,
        name="run-export",
    ),
    path("brokerage/proposals/", views.proposals, name="proposals"),
    path("brokerage/proposals/<id:proposal_id>/respond/", views.respond, name="respond"),
    re_path(r"^brokerage/proposals\.(?P<fmt>csv|xlsx)$", views.proposals_export, name="proposals-export"),
    path("brokerage/deployments/", views.deployments, name="deployments"),
    path("brokerage/deployments/<id:deployment_id>/", views.deployment_detail, name="deployment"),
    re_path(
        r"^brokerage/deployments\.(?P<fmt>csv|xlsx)$", views.deployments_export, name="deployments-export"
    ),
    path("brokerage/methodology/", views.methodology, name="methodology"),
    path("brokerage/school/", views.school_needs_offers, name="school"),
    re_path(
        r"^brokerage/school/(?P<table>needs|offers)\.(?P<fmt>csv|xlsx)$",
        views.school_export,
        name="school-export",
    ),
    re_path(r"^brokerage/runs\.(?P<fmt>csv|xlsx)$", views.runs_export, name="runs-export"),
]
