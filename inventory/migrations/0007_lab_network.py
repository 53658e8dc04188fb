# The lab network (the driver's stand-in for element managers) moves from orders to inventory, which
# owns the network boundary. The tables stay; only Django's state moves, then the tables are renamed.

import django.db.models.deletion
import telco.clock
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0006_resource_kind_other'),
        ('orders', '0005_one_clock'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='LabElement',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=120, unique=True)),
                        ('failure_mode', models.CharField(choices=[('none', 'None'), ('permanent', 'Permanent'), ('transient', 'Transient'), ('timeout', 'Timeout')], default='none', max_length=10)),
                        ('transient_failures_left', models.PositiveIntegerField(default=0)),
                        ('last_update', models.DateTimeField(default=telco.clock.now)),
                    ],
                    options={'db_table': 'orders_labelement'},
                ),
                migrations.CreateModel(
                    name='LabElementConfig',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('idempotency_key', models.CharField(max_length=80, unique=True)),
                        ('operation', models.CharField(max_length=20)),
                        ('service_ref', models.CharField(max_length=40)),
                        ('payload', models.JSONField(default=dict)),
                        ('is_active', models.BooleanField(default=True)),
                        ('applied_at', models.DateTimeField(default=telco.clock.now)),
                        ('element', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='configs', to='inventory.labelement')),
                    ],
                    options={
                        'db_table': 'orders_labelementconfig',
                        'indexes': [models.Index(fields=['element', 'service_ref'], name='orders_labe_element_1aa15f_idx')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('service_ref', ''), _negated=True), name='lab_config_names_service')],
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name='labelement', table=None),
        migrations.AlterModelTable(name='labelementconfig', table=None),
        migrations.RenameIndex(
            model_name='labelementconfig',
            new_name='inventory_l_element_58ddf9_idx',
            old_name='orders_labe_element_1aa15f_idx',
        ),
    ]
