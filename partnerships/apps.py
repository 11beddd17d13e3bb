from django.apps import AppConfig


class PartnershipsConfig(AppConfig):
    name = "partnerships"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the MAT performance file kind with the schools importer (schools never imports partnerships).
        from partnerships import importers  # noqa: F401
