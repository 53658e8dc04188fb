# Bill runs at volume: the chunks a run fans out to workers, each billed in one transaction.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("billing", "0009_usage_at_volume")]

    operations = [
        migrations.CreateModel(
            name="BillRunChunk",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("first_account_id", models.BigIntegerField()),
                ("last_account_id", models.BigIntegerField()),
                ("accounts", models.PositiveIntegerField()),
                ("bills_created", models.PositiveIntegerField(default=0)),
                ("done_at", models.DateTimeField(blank=True, null=True)),
                (
                    "bill_run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chunks",
                        to="billing.billrun",
                    ),
                ),
            ],
            options={
                "ordering": ["bill_run", "first_account_id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("done_at__isnull", True)),
                        fields=["bill_run"],
                        name="billing_chunk_to_do",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("bill_run", "first_account_id"), name="one_chunk_per_run_start"
                    )
                ],
            },
        ),
    ]
