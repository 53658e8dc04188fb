import pytest
from catalog.tests.factories import five_g_premium_offering

pytestmark = pytest.mark.django_db

def test_smoke(agent_api):
    o = five_g_premium_offering()
    for url in ["/tmf-api/productCatalogManagement/v4/productOffering", f"/tmf-api/productCatalogManagement/v4/productOffering/{o.id}", "/tmf-api/productCatalogManagement/v4/productSpecification", "/tmf-api/productCatalogManagement/v4/productOfferingPrice", "/tmf-api/serviceCatalogManagement/v4/serviceSpecification", "/tmf-api/resourceCatalogManagement/v4/resourceSpecification/"]:
        r = agent_api.get(url)
        print(r.status_code, r.json())
    assert 0
