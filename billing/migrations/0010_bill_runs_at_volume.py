# Placeholder in the chain: its operations are filled in by the work it is named after.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("billing", "0009_usage_at_volume")]

    operations = []
