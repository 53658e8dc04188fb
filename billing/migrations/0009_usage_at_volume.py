# Usage at volume: conflicting arrivals of a stored eventId are kept as rejected records that
# point at the record stored first; rejected usage is indexed for operations' list.

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
    ]
