"""Resource inventory in depth: positions and values, pools' uniqueness, links as resources.

A link becomes a resource of its own (multi-table: `inventory_link` keeps the link's columns,
the resource row its name, kind, capacity and states), so TMF639 serves it like any resource and
a cable contains it. Existing links are carried over with their names, capacity and state.
"""

import django.db.models.deletion
import django.db.models.fields.json
import django.db.models.functions.comparison
from django.db import migrations, models

KINDS = [
    ("gnb", "gNB cell site"),
    ("slice", "Network slice"),
    ("router", "Router"),
    ("olt", "OLT"),
    ("port", "Port"),
    ("fibreLink", "Fibre link"),
    ("ipAddress", "IP address"),
    ("vlan", "VLAN"),
    ("switch", "Switch"),
    ("enb", "eNB cell site"),
    ("coreFunction", "Core network function"),
    ("card", "Card"),
    ("copperLink", "Copper link"),
    ("microwaveLink", "Microwave link"),
    ("cable", "Cable"),
    ("duct", "Duct"),
    ("ipPrefix", "IP prefix"),
    ("vlanPool", "VLAN pool"),
    ("msisdn", "MSISDN"),
    ("msisdnPool", "MSISDN range"),
    ("sim", "SIM card"),
    ("simPool", "SIM stock"),
    ("slicePool", "Slice pool"),
]
LINK_KINDS = {"fibre": "fibreLink", "copper": "copperLink", "microwave": "microwaveLink"}


def _device(resource):
    while resource.parent_id is not None:
        resource = resource.parent
    return resource


def carry_links_over(apps, schema_editor):
    legacy_links = apps.get_model("inventory", "LegacyLink")
    resources = apps.get_model("inventory", "Resource")
    links = apps.get_model("inventory", "Link")
    taken = set(resources.objects.values_list("name", flat=True))
    for old in legacy_links.objects.select_related("a_end", "z_end").order_by("pk"):
        name = old.name if old.name not in taken else f"{old.name}-link-{old.pk}"
        taken.add(name)
        links.objects.create(
            name=name,
            resource_kind=LINK_KINDS.get(old.medium, "fibreLink"),
            category="physical",
            capacity_mbps=old.capacity_mbps,
            operational_state=old.operational_state,
            a_end=old.a_end,
            z_end=old.z_end,
            a_device=_device(old.a_end),
            z_device=_device(old.z_end),
            medium=old.medium if old.medium in LINK_KINDS else "fibre",
        )


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_productinstance_product_order_item_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="resource",
            name="position",
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name="resource",
            name="value",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="resource",
            name="resource_kind",
            field=models.CharField(choices=KINDS, max_length=20),
        ),
        migrations.AddIndex(
            model_name="resource",
            index=models.Index(
                fields=["parent", "resource_kind", "resource_status"],
                name="inventory_r_parent__128464_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="resource",
            constraint=models.UniqueConstraint(
                condition=models.Q(("position", ""), _negated=True),
                fields=("parent", "position"),
                name="resource_position_once_in_parent",
            ),
        ),
        migrations.AddConstraint(
            model_name="resource",
            constraint=models.UniqueConstraint(
                condition=models.Q(("value", ""), _negated=True),
                fields=("parent", "resource_kind", "value"),
                name="resource_value_once_in_parent",
            ),
        ),
        migrations.AddConstraint(
            model_name="resource",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("resource_kind__in", ["ipAddress", "msisdn", "sim", "slice"]),
                    models.Q(("value", ""), _negated=True),
                ),
                fields=("resource_kind", "value"),
                name="resource_value_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="resource",
            constraint=models.UniqueConstraint(
                django.db.models.fields.json.KeyTextTransform("imsi", "characteristics"),
                condition=models.Q(("resource_kind", "sim")),
                name="sim_imsi_unique",
            ),
        ),
        # The old standalone link table steps aside, its rows become resources, then it goes.
        migrations.RemoveConstraint(model_name="link", name="link_two_ends"),
        migrations.RenameModel(old_name="Link", new_name="LegacyLink"),
        migrations.AlterField(
            model_name="legacylink",
            name="a_end",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="inventory.resource",
            ),
        ),
        migrations.AlterField(
            model_name="legacylink",
            name="z_end",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="inventory.resource",
            ),
        ),
        migrations.CreateModel(
            name="Link",
            fields=[
                (
                    "resource_ptr",
                    models.OneToOneField(
                        auto_created=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        parent_link=True,
                        primary_key=True,
                        serialize=False,
                        to="inventory.resource",
                    ),
                ),
                (
                    "medium",
                    models.CharField(
                        choices=[
                            ("fibre", "Fibre"),
                            ("copper", "Copper"),
                            ("microwave", "Microwave"),
                        ],
                        default="fibre",
                        max_length=20,
                    ),
                ),
                (
                    "a_device",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="uplinks",
                        to="inventory.resource",
                    ),
                ),
                (
                    "a_end",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="links_a",
                        to="inventory.resource",
                    ),
                ),
                (
                    "z_device",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="downlinks",
                        to="inventory.resource",
                    ),
                ),
                (
                    "z_end",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="links_z",
                        to="inventory.resource",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("a_end", models.F("z_end")), _negated=True),
                        name="link_two_ends",
                    )
                ],
                "indexes": [
                    models.Index(
                        django.db.models.functions.comparison.Coalesce("a_device", "a_end"),
                        name="link_a_device_idx",
                    ),
                    models.Index(
                        django.db.models.functions.comparison.Coalesce("z_device", "z_end"),
                        name="link_z_device_idx",
                    ),
                ],
            },
            bases=("inventory.resource",),
        ),
        migrations.RunPython(carry_links_over, migrations.RunPython.noop),
        migrations.DeleteModel(name="LegacyLink"),
    ]
