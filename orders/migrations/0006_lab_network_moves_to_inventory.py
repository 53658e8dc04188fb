# The lab network's models now live in inventory (inventory 0007 took over the tables).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0005_one_clock'),
        ('inventory', '0007_lab_network'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='LabElementConfig'),
                migrations.DeleteModel(name='LabElement'),
            ],
        ),
    ]
