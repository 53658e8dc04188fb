# Prepaid: balances per product (buckets), plans, vouchers, top-ups, charging sessions and the
# ledger of every reservation, commit and release.

import django.db.models.deletion
from django.db import migrations, models


def session_pages_leave_room(apps, schema_editor):
    """Room in each page for the new version of a session row: its updates stay HOT (no
    index touched), which is what keeps credit-control updates cheap."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE billing_chargingsession SET (fillfactor = 50)")


import telco.clock


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0010_bill_runs_at_volume"),
        ("catalog", "0008_service_level_agreement"),
        ("crm", "0009_lab_sms_message"),
        ("inventory", "0008_service_paths"),
    ]

    operations = [
        migrations.CreateModel(
            name="PrepaidBucket",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "usage_type",
                    models.CharField(
                        choices=[
                            ("monetary", "Monetary"),
                            ("data", "Data"),
                            ("voice", "Voice"),
                            ("sms", "Sms"),
                        ],
                        max_length=10,
                    ),
                ),
                ("units", models.CharField(max_length=3)),
                ("remaining", models.DecimalField(decimal_places=4, default=0, max_digits=18)),
                ("reserved", models.DecimalField(decimal_places=4, default=0, max_digits=18)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("active", "Active"),
                            ("suspended", "Suspended"),
                            ("expired", "Expired"),
                        ],
                        default="active",
                        max_length=10,
                    ),
                ),
                ("valid_from", models.DateTimeField(default=telco.clock.now)),
                ("valid_to", models.DateTimeField(blank=True, null=True)),
                ("low_balance_notified_at", models.DateTimeField(blank=True, null=True)),
                ("expiry_notified_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=telco.clock.now)),
                ("last_update", models.DateTimeField(default=telco.clock.now)),
                (
                    "billing_account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="prepaid_buckets",
                        to="crm.billingaccount",
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="prepaid_buckets",
                        to="inventory.productinstance",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="ChargingSession",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("session_id", models.CharField(max_length=200, unique=True)),
                (
                    "usage_type",
                    models.CharField(
                        choices=[
                            ("monetary", "Monetary"),
                            ("data", "Data"),
                            ("voice", "Voice"),
                            ("sms", "Sms"),
                        ],
                        max_length=10,
                    ),
                ),
                ("unit_price", models.DecimalField(decimal_places=4, default=1, max_digits=18)),
                ("reserved", models.DecimalField(decimal_places=4, default=0, max_digits=18)),
                ("granted", models.DecimalField(decimal_places=4, default=0, max_digits=18)),
                ("used", models.DecimalField(decimal_places=4, default=0, max_digits=18)),
                ("request_number", models.PositiveIntegerField(default=0)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("active", "Active"),
                            ("terminated", "Terminated"),
                            ("timedOut", "Timed Out"),
                        ],
                        default="active",
                        max_length=10,
                    ),
                ),
                ("created_at", models.DateTimeField(default=telco.clock.now)),
                ("last_seen_at", models.DateTimeField(default=telco.clock.now)),
                ("terminated_at", models.DateTimeField(blank=True, null=True)),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="charging_sessions",
                        to="inventory.productinstance",
                    ),
                ),
                (
                    "bucket",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="sessions",
                        to="billing.prepaidbucket",
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="PrepaidPlan",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("validity_days", models.PositiveIntegerField(default=30)),
                ("data_mb", models.DecimalField(decimal_places=4, default=0, max_digits=18)),
                ("voice_minutes", models.DecimalField(decimal_places=4, default=0, max_digits=18)),
                ("sms", models.DecimalField(decimal_places=4, default=0, max_digits=18)),
                ("initial_credit", models.DecimalField(decimal_places=4, default=0, max_digits=18)),
                ("currency", models.CharField(default="EUR", max_length=3)),
                ("price_per_mb", models.DecimalField(decimal_places=4, default=0, max_digits=18)),
                (
                    "price_per_minute",
                    models.DecimalField(decimal_places=4, default=0, max_digits=18),
                ),
                ("price_per_sms", models.DecimalField(decimal_places=4, default=0, max_digits=18)),
                (
                    "low_balance_threshold",
                    models.DecimalField(decimal_places=4, default=0, max_digits=18),
                ),
                (
                    "offering",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="prepaid_plan",
                        to="catalog.productoffering",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="TopupBalance",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=4, max_digits=18)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("created", "Created"),
                            ("completed", "Completed"),
                            ("failed", "Failed"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="completed",
                        max_length=10,
                    ),
                ),
                ("reason", models.CharField(blank=True, max_length=200)),
                ("channel", models.CharField(blank=True, max_length=40)),
                ("requested_date", models.DateTimeField(default=telco.clock.now)),
                ("confirmation_date", models.DateTimeField(blank=True, null=True)),
                ("created_by", models.CharField(blank=True, max_length=150)),
                (
                    "bucket",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="topups",
                        to="billing.prepaidbucket",
                    ),
                ),
                (
                    "payment",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="topup",
                        to="billing.payment",
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="BalanceAction",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("topup", "Topup"),
                            ("reserve", "Reserve"),
                            ("commit", "Commit"),
                            ("release", "Release"),
                            ("expire", "Expire"),
                        ],
                        max_length=10,
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=4, max_digits=18)),
                ("created_at", models.DateTimeField(default=telco.clock.now)),
                (
                    "session",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="actions",
                        to="billing.chargingsession",
                    ),
                ),
                (
                    "bucket",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="actions",
                        to="billing.prepaidbucket",
                    ),
                ),
                (
                    "topup",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="actions",
                        to="billing.topupbalance",
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="Voucher",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.CharField(max_length=32, unique=True)),
                ("amount", models.DecimalField(decimal_places=4, max_digits=18)),
                ("currency", models.CharField(default="EUR", max_length=3)),
                ("valid_to", models.DateTimeField(blank=True, null=True)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=telco.clock.now)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount__gt", 0)), name="voucher_amount_positive"
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="topupbalance",
            name="voucher",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="topup",
                to="billing.voucher",
            ),
        ),
        migrations.AddIndex(
            model_name="prepaidbucket",
            index=models.Index(
                condition=models.Q(("status", "active")),
                fields=["valid_to"],
                name="prepaid_bucket_expiry",
            ),
        ),
        migrations.AddConstraint(
            model_name="prepaidbucket",
            constraint=models.UniqueConstraint(
                fields=("product", "usage_type"), name="one_prepaid_bucket_per_usage_type"
            ),
        ),
        migrations.AddConstraint(
            model_name="prepaidbucket",
            constraint=models.CheckConstraint(
                condition=models.Q(("remaining__gte", 0), ("reserved__gte", 0)),
                name="prepaid_bucket_never_negative",
            ),
        ),
        migrations.AddIndex(
            model_name="chargingsession",
            index=models.Index(
                condition=models.Q(("state", "active")),
                fields=["created_at"],
                name="charging_session_open",
            ),
        ),
        migrations.AddIndex(
            model_name="chargingsession",
            index=models.Index(fields=["product", "-created_at"], name="charging_session_product"),
        ),
        migrations.AddConstraint(
            model_name="chargingsession",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("used__gte", 0), ("granted__gte", 0), ("used__lte", models.F("reserved"))
                ),
                name="charging_session_within_reservation",
            ),
        ),
        migrations.AddIndex(
            model_name="balanceaction",
            index=models.Index(fields=["bucket", "-id"], name="balance_action_bucket"),
        ),
        migrations.AddConstraint(
            model_name="balanceaction",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="balance_action_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="topupbalance",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="topup_amount_positive"
            ),
        ),
        migrations.RunPython(session_pages_leave_room, migrations.RunPython.noop),
    ]
