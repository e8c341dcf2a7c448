from django.conf import settings
from django.db import models


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
