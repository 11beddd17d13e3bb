from pathlib import Path

from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    default_auto_field = "django.db.models.BigAutoField"
    path = str(Path(__file__).resolve().parent)  # explicit: the editable install may see a namespace package
