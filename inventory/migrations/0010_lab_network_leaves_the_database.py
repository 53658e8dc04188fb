# The lab network is no longer tables: it is RESTCONF element servers (inventory.network.labserver)
# keeping their own state in a journal file.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0009_resource_kinds_ont_route_target"),
    ]

    operations = [
        migrations.DeleteModel(name="LabElementConfig"),
        migrations.DeleteModel(name="LabElement"),
    ]
