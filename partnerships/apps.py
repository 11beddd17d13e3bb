from django.apps import AppConfig


class PartnershipsConfig(AppConfig):
    name = "partnerships"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the MAT performance file kind with the schools importer (schools never imports partnerships).
        from partnerships import importers  # noqa: F401
        from schools.panels import register_panel

        # The school page's partnerships panel, after its trust table (schools may not import partnerships).
        register_panel("partnerships", "partnerships/_school_panel.html", slot="partnerships")

        from accounts.dashboard import register_section
        from partnerships.dashboard import section

        register_section("partnerships", section, order=20)
