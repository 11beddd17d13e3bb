from django.apps import AppConfig


def _jobs_check() -> str:
    """The `/readyz` check of the job queue: raises when its tables cannot be read."""
    from schoolpartners.jobs import jobs_ready

    ok, detail = jobs_ready()
    if not ok:
        raise RuntimeError(detail)
    return detail


class JobsConfig(AppConfig):
    name = "jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from schoolpartners.health import register_check

        register_check("jobs", _jobs_check)
