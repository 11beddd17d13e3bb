from django.urls import path, re_path

from evaluation import views

app_name = "evaluation"

urlpatterns = [
    path("evaluation/", views.index, name="index"),
    path("evaluation/events/<slug:code>/", views.event, name="event"),
    re_path(
        r"^evaluation/events/(?P<code>[a-z_]+)\.(?P<fmt>csv|xlsx)$", views.event_export, name="event-export"
    ),
    re_path(
        r"^evaluation/events/(?P<code>[a-z_]+)/designs\.(?P<fmt>csv|xlsx)$",
        views.event_designs_export,
        name="event-designs-export",
    ),
    path("evaluation/support/<slug:code>/", views.support, name="support"),
    re_path(
        r"^evaluation/support/(?P<code>[a-z_]+)/designs\.(?P<fmt>csv|xlsx)$",
        views.support_designs_export,
        name="support-designs-export",
    ),
    re_path(
        r"^evaluation/support/(?P<code>[a-z_]+)\.(?P<fmt>csv|xlsx)$",
        views.support_export,
        name="support-export",
    ),
]
