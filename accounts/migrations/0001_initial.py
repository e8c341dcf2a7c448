import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Preference moved here from states, keeping its table (states_preference): the model enters this
# app's state only, and states/migrations/0005 takes it out of that app's state.


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("states", "0002_translations_preference"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Preference",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        (
                            "language",
                            models.CharField(
                                choices=[("en", "English"), ("fr", "Français"), ("es", "Español"), ("ar", "العربية")],
                                max_length=10,
                            ),
                        ),
                        (
                            "user",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="preference",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"db_table": "states_preference"},
                ),
            ],
        ),
    ]
