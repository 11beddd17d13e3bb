from django.urls import path, re_path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    re_path(r"^notifications\.(?P<fmt>csv|xlsx)$", views.notifications_export, name="export"),
    path("account/notifications/", views.preferences, name="preferences"),
]
