from django.urls import path, re_path

from jobs import views

app_name = "jobs"

urlpatterns = [
    path("jobs/", views.job_list, name="list"),
    re_path(r"^jobs\.(?P<fmt>csv|xlsx)$", views.job_list_export, name="export"),
    path("jobs/recompute/", views.recompute, name="recompute"),
    path("jobs/<id:job_id>/", views.job_page, name="job"),
]
