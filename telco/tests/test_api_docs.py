import re


def test_openapi_schema_lists_the_tmf_resources(agent_api):
    response = agent_api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/tmf-api/productOrderingManagement/v4/productOrder",
        "/tmf-api/productInventory/v4/product/{id}",
        "/tmf-api/usageManagement/v4/usage",
        "/tmf-api/alarmManagement/v4/alarm",
    ):
        assert any(p.rstrip("/") == path for p in paths), path


def test_interactive_docs_load_only_local_assets(agent_user, client):
    client.force_login(agent_user)
    page = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, "the docs page should load its Swagger UI assets"
    for asset in assets:
        assert asset.startswith("/"), asset
        assert client.get(asset).status_code == 200, asset
