"""Network against inventory, one element at a time: its whole running configuration read
once through its driver (so a real element manager can replace the lab), beside every
service the inventory places there."""

from django.db.models import Q

from billing.choices import CaseKind
from billing.services.cases import Finding
from inventory import services as inventory_services
from inventory.network import driver_for

NETWORK_KINDS = (CaseKind.ORPHAN_CONFIG, CaseKind.CONFIG_MISSING, CaseKind.CONFIG_DRIFT)


def network_findings(*, element_name: str) -> tuple[list[Finding], Q]:
    """The differences on one element, and the cases they answer for (that element's).
    A NetworkError (the element does not answer) goes to the caller: the unit's error."""
    element = inventory_services.elements_holding_services().get(name=element_name)
    driver = driver_for(element.resource_kind)
    running = driver.running_configs(element=element.name)
    expected = inventory_services.element_expected_configs(element)
    findings = []
    for ref, placed in expected.items():
        root = placed.root
        links = {
            "element": element.name,
            "service_ref": ref,
            "service_id": root.pk,
            "product_id": root.product_id,
            "billing_account_id": root.billing_account_id,
        }
        if placed.config is None:
            continue  # on its way (reserved, designed): may or may not be there yet
        reported = running.get(ref)
        if reported is None:
            findings.append(
                Finding(
                    kind=CaseKind.CONFIG_MISSING,
                    fingerprint=f"{CaseKind.CONFIG_MISSING}:{element.name}:{ref}",
                    summary=f"{root.name} ({root.state}) is not configured on {element.name}.",
                    evidence={"expected": placed.config},
                    **links,
                )
            )
            continue
        differing = inventory_services.config_differences(
            placed.config, reported, driver.config_keys
        )
        if differing:
            findings.append(
                Finding(
                    kind=CaseKind.CONFIG_DRIFT,
                    fingerprint=f"{CaseKind.CONFIG_DRIFT}:{element.name}:{ref}",
                    summary=(f"{root.name} on {element.name} differs in {', '.join(differing)}."),
                    evidence={
                        "keys": differing,
                        "expected": {key: placed.config.get(key) for key in differing},
                        "reported": {key: reported.get(key) for key in differing},
                    },
                    **links,
                )
            )
    orphans = sorted(running.keys() - expected.keys())
    known = inventory_services.services_by_reference(orphans)
    for ref in orphans:
        service = known.get(ref)
        product = service.product if service else None
        findings.append(
            Finding(
                kind=CaseKind.ORPHAN_CONFIG,
                # The element names it: cut to the columns (our own references are short).
                fingerprint=f"{CaseKind.ORPHAN_CONFIG}:{element.name}:{ref}"[:200],
                summary=(
                    f"{element.name} holds configuration {ref}"
                    + (f" of {service.name} ({service.state})" if service else "")
                    + ", which no active or suspended service has."
                ),
                element=element.name,
                service_ref=ref[:120],
                service_id=service.pk if service else None,
                product_id=product.pk if product else None,
                billing_account_id=product.billing_account_id if product else None,
                evidence={"reported": running[ref]},
            )
        )
    return findings, Q(kind__in=NETWORK_KINDS, element=element.name)
