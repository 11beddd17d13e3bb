from typing import Any

from django.apps import AppConfig


def _school_summary(school: Any) -> dict[str, Any]:
    from similarity.queries import school_summary_context

    return {"similarity": school_summary_context(school.urn)}


class SimilarityConfig(AppConfig):
    name = "similarity"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from schools.panels import register_panel

        # The school page's "Similar schools" summary (schools may not import similarity: it is a panel).
        register_panel("similarity", "similarity/_school_summary.html", order=10, context=_school_summary)
