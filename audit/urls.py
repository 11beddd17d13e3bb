from django.urls import path, re_path

from audit import views

app_name = "audit"

urlpatterns = [
    path("audit/", views.audit_log, name="log"),
    re_path(r"^audit\.(?P<fmt>csv|xlsx)$", views.audit_export, name="export"),
]
