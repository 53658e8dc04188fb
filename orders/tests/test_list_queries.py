"""List endpoints of orders and inventory answer in a query count that does not grow with rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.tests.factories import BillingAccountFactory
from orders.tests.factories import five_g_world
from orders.tests.test_workflow import submit_and_run

LISTS = [
    "/tmf-api/productOrderingManagement/v4/productOrder",
    "/tmf-api/serviceOrdering/v4/serviceOrder",
    "/tmf-api/productInventory/v4/product",
    "/tmf-api/serviceInventory/v4/service",
    "/tmf-api/resourceInventoryManagement/v4/resource",
]


def _count(api, path, rows):
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path)
    assert response.status_code == 200
    assert len(response.data) == rows
    return len(queries)


def _rows(path: str, orders: int) -> int:
    if "resource" in path:
        return orders + 1
    if "service/" in path or path.endswith("/service"):
        return orders * 3
    return orders


@pytest.mark.django_db
def test_list_query_counts_do_not_grow(admin_api):
    offering, account, _ = five_g_world()
    for _ in range(2):
        submit_and_run(offering, BillingAccountFactory(), bandwidth="100Mbps")
    # Resources: one gNB and a slice per order; services: a CFS and its two RFS per order.
    small = {path: _count(admin_api, path, _rows(path, 2)) for path in LISTS}

    for _ in range(4):
        submit_and_run(offering, BillingAccountFactory(), bandwidth="100Mbps")

    large = {path: _count(admin_api, path, _rows(path, 6)) for path in LISTS}
    assert large == small
