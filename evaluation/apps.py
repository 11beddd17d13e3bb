from pathlib import Path

from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    default_auto_field = "django.db.models.BigAutoField"
    path = str(Path(__file__).resolve().parent)  # explicit: the editable install may see a namespace package

    def ready(self) -> None:
        from schools.panels import register_panel

        # The school page's before/after panel (schools may not import evaluation: it is a panel).
        register_panel("evaluation", "evaluation/_school_before_after.html", order=20)
