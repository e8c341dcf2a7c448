from django.db import migrations

# Preference now belongs to accounts, whose first migration takes over its table (states_preference)
# as it is: the model leaves this app's state only, and no data moves. No dependency on accounts, so
# that states still migrates without the apps built on it; neither step touches the database.


class Migration(migrations.Migration):
    dependencies = [
        ("states", "0004_role_in_force_between_its_dates"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="Preference")]),
    ]
