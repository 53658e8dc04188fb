# Usage at volume: conflicting arrivals of a stored eventId are kept as rejected records that
# point at the record stored first; rejected usage is indexed for operations' list; fewer
# indexes and no per-row foreign-key triggers to maintain on each of millions of inserts (bulk
# ingest key-share locks the rows a batch references once).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("billing", "0008_sla_credit")]

    operations = [
        migrations.AddField(
            model_name="usageevent",
            name="reported_event_id",
            field=models.CharField(blank=True, max_length=80),
        ),
        migrations.AddField(
            model_name="usageevent",
            name="duplicate_of",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="conflicts",
                to="billing.usageevent",
                db_index=False,
            ),
        ),
        migrations.AlterField(
            model_name="usageevent",
            name="rejection_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("missingAttribute", "Missing Attribute"),
                    ("unknownUnit", "Unknown Unit"),
                    ("unknownService", "Unknown Service"),
                    ("noBillableProduct", "No Billable Product"),
                    ("unpricedRatingGroup", "Unpriced Rating Group"),
                    ("invalidValue", "Invalid Value"),
                    ("duplicateEventConflict", "Duplicate Event Conflict"),
                ],
                max_length=24,
            ),
        ),
        migrations.AddIndex(
            model_name="usageevent",
            index=models.Index(
                condition=models.Q(("status", "rejected")),
                fields=["rejection_reason", "received_at"],
                name="usage_rejected",
            ),
        ),
        migrations.AlterField(
            model_name="usageevent",
            name="applied_charge",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="usage_events",
                to="billing.appliedcharge",
            ),
        ),
        migrations.AlterField(
            model_name="usageevent",
            name="billing_account",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                to="crm.billingaccount",
            ),
        ),
        migrations.AlterField(
            model_name="usageevent",
            name="event_id",
            field=models.CharField(blank=True, max_length=80, null=True),
        ),
        migrations.AlterField(
            model_name="usageevent",
            name="product",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="usage",
                to="inventory.productinstance",
            ),
        ),
        migrations.AlterField(
            model_name="usageevent",
            name="service",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="usage",
                to="inventory.service",
            ),
        ),
        migrations.AlterField(
            model_name="usageevent",
            name="usage_specification",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="usage",
                to="billing.usagespecification",
            ),
        ),
        migrations.AddIndex(
            model_name="usageevent",
            index=models.Index(
                condition=models.Q(("applied_charge__isnull", False)),
                fields=["applied_charge"],
                name="usage_charged",
            ),
        ),
        migrations.AddIndex(
            model_name="usageevent",
            index=models.Index(
                condition=models.Q(("duplicate_of__isnull", False)),
                fields=["duplicate_of"],
                name="usage_conflicts",
            ),
        ),
        migrations.AddConstraint(
            model_name="usageevent",
            constraint=models.UniqueConstraint(fields=("event_id",), name="usage_event_id_unique"),
        ),
    ]
