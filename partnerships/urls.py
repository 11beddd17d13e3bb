from django.urls import path, re_path

from partnerships import views

app_name = "partnerships"

urlpatterns = [
    path("trusts/", views.compare, name="compare"),
    re_path(r"^trusts/export\.(?P<fmt>csv|xlsx)$", views.compare_export, name="compare-export"),
    path("trusts/<id:pk>/", views.trust, name="trust"),
    re_path(
        r"^trusts/side-by-side\.(?P<fmt>csv|xlsx)$",
        views.compare_measures_export,
        name="compare-measures-export",
    ),
    re_path(
        r"^trusts/(?P<pk>[0-9]+)/measures\.(?P<fmt>csv|xlsx)$",
        views.trust_measures_export,
        name="trust-measures-export",
    ),
    re_path(
        r"^trusts/(?P<pk>[0-9]+)/(?P<table>members|performance|three-years|before-joining|dfe)\.(?P<fmt>csv|xlsx)$",
        views.trust_export,
        name="trust-export",
    ),
    path("partnerships/mapping/", views.mapping, name="mapping"),
    re_path(r"^partnerships/mapping\.(?P<fmt>csv|xlsx)$", views.mapping_export, name="mapping-export"),
    path("partnerships/methodology/", views.methodology, name="methodology"),
    path("sponsors/", views.sponsors, name="sponsors"),
    path("partnerships/requests/", views.requests_list, name="requests"),
    re_path(r"^partnerships/requests\.(?P<fmt>csv|xlsx)$", views.requests_export, name="requests-export"),
    path("partnerships/requests/new/", views.join, name="join"),
    path("partnerships/requests/<id:pk>/", views.request_detail, name="request"),
    re_path(
        r"^partnerships/requests/(?P<pk>[0-9]+)/(?P<step>trust|region|school)/$",
        views.request_decide,
        name="decide",
    ),
    path("partnerships/designations/", views.designations, name="designations"),
    re_path(
        r"^partnerships/designations\.(?P<fmt>csv|xlsx)$",
        views.designations_export,
        name="designations-export",
    ),
    path("partnerships/designations/new/", views.designation_new, name="designation-new"),
    path("partnerships/issp/", views.issp, name="issp"),
    re_path(
        r"^partnerships/issp/(?P<table>partnerships|posts)\.(?P<fmt>csv|xlsx)$",
        views.issp_export,
        name="issp-export",
    ),
    path("partnerships/issp/post/", views.issp_post, name="issp-post"),
    path("partnerships/register/", views.register, name="register"),
    path("partnerships/grant/", views.grant, name="grant"),
]
