"""Order factories: the world a 5G order needs, and request bodies."""

from catalog.tests.factories import five_g_premium_offering
from crm.tests.factories import BillingAccountFactory
from inventory.tests.factories import GnbFactory


def five_g_world(*, gnb_capacity_mbps: int = 10000):
    """Launched 5G Premium offering, a customer with one billing account, one gNB."""
    offering = five_g_premium_offering()
    account = BillingAccountFactory()
    gnb = GnbFactory(capacity_mbps=gnb_capacity_mbps)
    return offering, account, gnb


def product_order_body(
    *, offering_id, party_id, referred_type="Customer", bandwidth="1Gbps", account_id=None
) -> dict:
    body = {
        "productOrderItem": [
            {
                "id": "1",
                "action": "add",
                "productOffering": {"id": str(offering_id)},
                "product": {"productCharacteristic": [{"name": "bandwidth", "value": bandwidth}]},
            }
        ],
        "relatedParty": [{"id": str(party_id), "@referredType": referred_type}],
    }
    if account_id is not None:
        body["billingAccount"] = {"id": str(account_id)}
    return body
