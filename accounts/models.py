import simple_history
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from simple_history.models import HistoricalRecords


class Preference(models.Model):
    """What a user chose for themselves, kept across devices: for now, the language they read in."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)

    class Meta:
        # The table made when the model lived in states/: moving the model moved no data.
        db_table = "states_preference"

    def __str__(self):
        return f"{self.user}: {self.language}"

    @classmethod
    def language_of(cls, user):
        """The language ``user`` chose, or ``None`` if they never chose one."""
        return cls.objects.filter(user=user).values_list("language", flat=True).first()

    @classmethod
    def set_language(cls, user, language):
        cls.objects.update_or_create(user=user, defaults={"language": language})


class KeptFieldsHistory(HistoricalRecords):
    """History that skips a save touching only excluded fields, such as the ``last_login`` stamped at each sign-in."""

    def post_save(self, instance, created, using=None, update_fields=None, **kwargs):
        if update_fields and set(update_fields) <= set(self.excluded_fields):
            return
        super().post_save(instance, created, using=using, update_fields=update_fields, **kwargs)


# Who made a change is named on a State's timeline: the dashboards' cache keys on this history to see a rename.
simple_history.register(
    get_user_model(),
    app="accounts",
    records_class=KeptFieldsHistory,
    excluded_fields=["password", "last_login"],
)
