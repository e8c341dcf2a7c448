from django.apps import AppConfig


class StatesConfig(AppConfig):
    name = "states"
    verbose_name = "Member States, regions and roles"

    def ready(self):
        from . import audit  # noqa: F401  (connects the audit trail's receivers)
