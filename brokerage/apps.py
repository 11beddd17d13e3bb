from django.apps import AppConfig


class BrokerageConfig(AppConfig):
    name = "brokerage"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Brokerage"

    def ready(self) -> None:
        from accounts.dashboard import register_section
        from brokerage.dashboard import section

        register_section("brokerage", section, order=30)
