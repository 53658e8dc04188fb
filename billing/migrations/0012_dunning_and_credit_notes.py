# Dunning (policies, cases, actions), credit notes, refunds and payment reversals.

import django.db.models.deletion
from django.db import migrations, models

import telco.clock

# The policy a new installation duns by (edit it in admin): reminder a day after the due date,
# a second a week after, suspension after two weeks; termination is left to finance to add.
STANDARD_STEPS = ((1, 1, "reminder"), (2, 7, "secondReminder"), (3, 14, "suspend"))


def standard_policy(apps, schema_editor):
    policy_model = apps.get_model("billing", "DunningPolicy")
    step_model = apps.get_model("billing", "DunningStep")
    if policy_model.objects.exists():
        return
    policy = policy_model.objects.create(
        name="Standard",
        description="Reminder, second reminder, suspension through a TMF622 order.",
        is_default=True,
        minimum_amount=1,
    )
    step_model.objects.bulk_create(
        step_model(policy=policy, position=position, days_after_due=days, action=action)
        for position, days, action in STANDARD_STEPS
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0011_prepaid_balances"),
        ("crm", "0009_lab_sms_message"),
    ]

    operations = [
        migrations.AlterField(
            model_name="payment",
            name="state",
            field=models.CharField(
                choices=[
                    ("received", "Received"),
                    ("allocated", "Allocated"),
                    ("refunded", "Refunded"),
                    ("reversed", "Reversed"),
                ],
                default="received",
                max_length=10,
            ),
        ),
        migrations.CreateModel(
            name="CreditNote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.CharField(max_length=20, unique=True)),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("billingError", "Billing Error"),
                            ("goodwill", "Goodwill"),
                            ("serviceOutage", "Service Outage"),
                            ("dispute", "Dispute"),
                            ("other", "Other"),
                        ],
                        max_length=16,
                    ),
                ),
                ("description", models.CharField(blank=True, max_length=300)),
                ("currency", models.CharField(default="EUR", max_length=3)),
                ("amount", models.DecimalField(decimal_places=4, max_digits=18)),
                ("tax_amount", models.DecimalField(decimal_places=4, max_digits=18)),
                (
                    "unallocated_amount",
                    models.DecimalField(decimal_places=4, default=0, max_digits=18),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("pendingApproval", "Pending Approval"),
                            ("approved", "Approved"),
                            ("rejected", "Rejected"),
                        ],
                        default="pendingApproval",
                        max_length=16,
                    ),
                ),
                ("created_by", models.CharField(max_length=150)),
                ("created_at", models.DateTimeField(default=telco.clock.now)),
                ("decided_by", models.CharField(blank=True, max_length=150)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("decision_note", models.CharField(blank=True, max_length=300)),
                (
                    "bill",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_notes",
                        to="billing.customerbill",
                    ),
                ),
                (
                    "billing_account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_notes",
                        to="crm.billingaccount",
                    ),
                ),
                (
                    "line",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_notes",
                        to="billing.appliedcharge",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="CreditNoteAllocation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=4, max_digits=18)),
                ("created_at", models.DateTimeField(default=telco.clock.now)),
                (
                    "bill",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_allocations",
                        to="billing.customerbill",
                    ),
                ),
                (
                    "credit_note",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="allocations",
                        to="billing.creditnote",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="DunningPolicy",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=80, unique=True)),
                ("description", models.CharField(blank=True, max_length=300)),
                ("is_default", models.BooleanField(default=False)),
                ("minimum_amount", models.DecimalField(decimal_places=4, default=0, max_digits=18)),
            ],
            options={
                "verbose_name_plural": "dunning policies",
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("is_default", True)),
                        fields=("is_default",),
                        name="one_default_dunning",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="DunningCase",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reference_date", models.DateTimeField()),
                ("opened_at", models.DateTimeField(default=telco.clock.now)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "close_reason",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("paid", "Paid"),
                            ("credited", "Credited"),
                            ("belowMinimum", "Below Minimum"),
                            ("onHold", "On Hold"),
                        ],
                        max_length=16,
                    ),
                ),
                ("resume_order_id", models.CharField(blank=True, max_length=40)),
                ("resume_error", models.CharField(blank=True, max_length=300)),
                (
                    "bill",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="dunning_cases",
                        to="billing.customerbill",
                    ),
                ),
                (
                    "billing_account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="dunning_cases",
                        to="crm.billingaccount",
                    ),
                ),
                (
                    "policy",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="billing.dunningpolicy",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="DunningStep",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField()),
                ("days_after_due", models.PositiveSmallIntegerField()),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("reminder", "Reminder"),
                            ("secondReminder", "Second Reminder"),
                            ("suspend", "Suspend"),
                            ("terminate", "Terminate"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "policy",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="steps",
                        to="billing.dunningpolicy",
                    ),
                ),
            ],
            options={
                "ordering": ["policy", "position"],
            },
        ),
        migrations.CreateModel(
            name="DunningAction",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("reminder", "Reminder"),
                            ("secondReminder", "Second Reminder"),
                            ("suspend", "Suspend"),
                            ("terminate", "Terminate"),
                        ],
                        max_length=16,
                    ),
                ),
                ("position", models.PositiveSmallIntegerField()),
                (
                    "state",
                    models.CharField(
                        choices=[("pending", "Pending"), ("done", "Done"), ("failed", "Failed")],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("created_at", models.DateTimeField(default=telco.clock.now)),
                ("done_at", models.DateTimeField(blank=True, null=True)),
                ("detail", models.TextField(blank=True)),
                ("product_ids", models.JSONField(blank=True, default=list)),
                ("order_id", models.CharField(blank=True, max_length=40)),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="actions",
                        to="billing.dunningcase",
                    ),
                ),
                (
                    "step",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="billing.dunningstep",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="PaymentReversal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reason", models.CharField(max_length=300)),
                ("reopened", models.JSONField(blank=True, default=list)),
                ("reversed_at", models.DateTimeField(default=telco.clock.now)),
                ("created_by", models.CharField(blank=True, max_length=150)),
                (
                    "payment",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reversal",
                        to="billing.payment",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Refund",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=4, max_digits=18)),
                ("currency", models.CharField(default="EUR", max_length=3)),
                ("reason", models.CharField(max_length=300)),
                ("reference", models.CharField(blank=True, max_length=80)),
                ("reopened", models.JSONField(blank=True, default=list)),
                ("refund_date", models.DateTimeField(default=telco.clock.now)),
                ("created_by", models.CharField(blank=True, max_length=150)),
                (
                    "billing_account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="refunds",
                        to="crm.billingaccount",
                    ),
                ),
                (
                    "payment",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="refunds",
                        to="billing.payment",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.AddIndex(
            model_name="creditnote",
            index=models.Index(
                condition=models.Q(("unallocated_amount__gt", 0)),
                fields=["billing_account"],
                name="credit_note_with_credit",
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnote",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="credit_note_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnote",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("unallocated_amount__gte", 0), ("unallocated_amount__lte", models.F("amount"))
                ),
                name="credit_note_unallocated_within",
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnoteallocation",
            constraint=models.UniqueConstraint(
                fields=("credit_note", "bill"), name="one_credit_allocation_per_bill"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnoteallocation",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="credit_allocation_positive"
            ),
        ),
        migrations.AddIndex(
            model_name="dunningcase",
            index=models.Index(
                condition=models.Q(("closed_at__isnull", True)),
                fields=["billing_account"],
                name="dunning_case_open",
            ),
        ),
        migrations.AddConstraint(
            model_name="dunningcase",
            constraint=models.UniqueConstraint(
                condition=models.Q(("closed_at__isnull", True)),
                fields=("bill",),
                name="one_open_dunning_case",
            ),
        ),
        migrations.AddConstraint(
            model_name="dunningstep",
            constraint=models.UniqueConstraint(
                fields=("policy", "position"), name="dunning_step_position"
            ),
        ),
        migrations.AddConstraint(
            model_name="dunningstep",
            constraint=models.UniqueConstraint(
                fields=("policy", "action"), name="dunning_step_action"
            ),
        ),
        migrations.AddIndex(
            model_name="dunningaction",
            index=models.Index(
                condition=models.Q(("state", "pending")),
                fields=["id"],
                name="dunning_action_pending",
            ),
        ),
        migrations.AddConstraint(
            model_name="dunningaction",
            constraint=models.UniqueConstraint(
                fields=("case", "step"), name="one_action_per_case_step"
            ),
        ),
        migrations.AddConstraint(
            model_name="refund",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reference", ""), _negated=True),
                fields=("billing_account", "reference"),
                name="refund_reference_unique_per_account",
            ),
        ),
        migrations.AddConstraint(
            model_name="refund",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="refund_positive"
            ),
        ),
        migrations.RunPython(standard_policy, migrations.RunPython.noop),
    ]
