"""The web pages: login, home redirects, and the agent portal (search, customer 360, invoice)."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.tests.page_factories import (
    PERIOD_END,
    PERIOD_START,
    make_active_product,
    make_alarm,
    make_bill,
    make_customer,
    make_gnb,
    make_offering,
    make_order,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering():
    return make_offering()


@pytest.fixture
def ada(offering):
    """Ada with an active 5G product on gnb-london-1, a settled and an unpaid bill, an order."""
    customer, account = make_customer(
        given_name="Ada",
        family_name="Lovelace",
        email="ada@example.org",
        phone="+44 7700 900123",
        account_number="BA00042",
    )
    gnb = make_gnb("gnb-london-1")
    product, service = make_active_product(account, offering=offering, gnb=gnb)
    make_order(account, offering=offering, state="completed")
    make_order(account, offering=offering, state="failed", failure_reason="gNB refused the slice")
    settled = make_bill(
        account, product, lines=[("recurring", "Monthly fee", Decimal("30.00"))], state="settled"
    )
    unpaid = make_bill(
        account,
        product,
        lines=[
            ("oneTime", "Activation fee", Decimal("25.00")),
            ("recurring", "5G Premium monthly", Decimal("40.00")),
            ("usage", "Data over allowance", Decimal("7.50")),
        ],
        state="sent",
        period_start=settled.period_end,
        period_end=settled.period_end.replace(month=12),
    )
    return {
        "customer": customer,
        "account": account,
        "gnb": gnb,
        "product": product,
        "service": service,
        "settled": settled,
        "unpaid": unpaid,
    }


def portal_urls(ada) -> list[str]:
    pk = ada["customer"].pk
    return [
        reverse("crm:portal-search"),
        reverse("crm:portal-search-results") + "?q=Ada",
        reverse("crm:customer-detail", args=[pk]),
        reverse("crm:customer-products", args=[pk]),
        reverse("crm:bill-detail", args=[ada["unpaid"].pk]),
    ]


# Login and home


def test_login_page_renders_and_logs_in(agent_user):
    client = Client()
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'name="username"' in page.content
    assert b'name="password"' in page.content

    response = client.post(reverse("login"), {"username": "agent1", "password": "pw-agent"})
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.get(reverse("home")).url == "/portal/"


def test_login_page_shows_the_form_error(agent_user):
    response = Client().post(reverse("login"), {"username": "agent1", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_logout_is_a_post_form(agent_client):
    page = agent_client.get(reverse("crm:portal-search")).content.decode()
    assert re.search(r'<form method="post" action="/accounts/logout/"', page)
    response = agent_client.post(reverse("logout"))
    assert response.status_code == 302
    assert agent_client.get(reverse("crm:portal-search")).status_code == 302


def test_home_sends_an_agent_to_the_portal(agent_client):
    response = agent_client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == "/portal/"


def test_home_sends_a_noc_user_to_the_noc(noc_client):
    response = noc_client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == "/noc/"


# Permissions


def test_noc_user_gets_403_on_every_portal_page(noc_client, ada):
    for url in portal_urls(ada):
        response = noc_client.get(url)
        assert response.status_code == 403, url
        denial = "The agent portal is for agent, finance, risk and admin users."
        assert denial in response.content.decode()


def test_anonymous_is_sent_to_login(ada):
    client = Client()
    for url in portal_urls(ada):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/accounts/login/?next="), url


def test_finance_user_may_use_the_portal(finance_client, ada):
    for url in portal_urls(ada):
        assert finance_client.get(url).status_code == 200, url


def test_navigation_follows_the_roles(agent_client, admin_role_client, admin_user_role):
    agent_page = agent_client.get(reverse("crm:portal-search")).content.decode()
    assert 'href="/portal/"' in agent_page
    assert 'href="/noc/"' not in agent_page
    assert 'href="/admin/"' not in agent_page
    assert 'href="/api/docs/"' in agent_page
    assert '<span class="role-badge">agent</span>' in agent_page
    assert 'href="/static/css/app.css"' in agent_page

    admin_user_role.is_staff = True
    admin_user_role.save()
    admin_page = admin_role_client.get(reverse("crm:portal-search")).content.decode()
    assert 'href="/noc/"' in admin_page
    assert 'href="/admin/"' in admin_page


# Search


def result_names(html: str) -> list[str]:
    return re.findall(r'<a href="/portal/customers/\d+/">([^<]+)</a>', html)


@pytest.mark.parametrize(
    "query",
    ["Lovelace", "ada love", "BA00042", "a00042", "ADA@example.org", "+44 7700 900123", "900123"],
)
def test_search_finds_by_name_account_email_and_phone(agent_client, ada, query):
    make_customer(given_name="Grace", family_name="Hopper", email="grace@example.org")
    fragment = agent_client.get(reverse("crm:portal-search-results"), {"q": query})
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "<html" not in html
    assert result_names(html) == ["Ada Lovelace"]


def test_search_page_works_without_javascript(agent_client, ada):
    page = agent_client.get(reverse("crm:portal-search"), {"q": "BA00042"}).content.decode()
    assert "<html" in page
    assert result_names(page) == ["Ada Lovelace"]
    assert 'value="BA00042"' in page
    assert "BA00042" in page


def test_search_ranks_exact_identifier_first_and_limits_to_25(agent_client, ada):
    for n in range(30):
        make_customer(given_name="Adam", family_name=f"Smith {n:02d}")
    make_customer(given_name="Zed", family_name="Adams", account_number="ADA1")
    html = agent_client.get(reverse("crm:portal-search-results"), {"q": "ada1"}).content.decode()
    assert result_names(html) == ["Zed Adams"]

    html = agent_client.get(reverse("crm:portal-search-results"), {"q": "Ada"}).content.decode()
    names = result_names(html)
    assert len(names) == 25
    # Name prefix matches come before names that only contain the text, then alphabetical.
    assert names[:3] == ["Ada Lovelace", "Adam Smith 00", "Adam Smith 01"]
    assert "Showing the first 25 matches" in html


def test_empty_search_shows_no_results(agent_client, ada):
    html = agent_client.get(reverse("crm:portal-search-results"), {"q": "  "}).content.decode()
    assert result_names(html) == []
    html = agent_client.get(reverse("crm:portal-search-results"), {"q": "nobody"}).content.decode()
    assert "No customer matches" in html


def test_search_query_count_does_not_grow(agent_client, offering):
    def count_for(n):
        for i in range(n):
            make_customer(given_name="Query", family_name=f"Count{n}-{i}")
        with CaptureQueriesContext(connection) as ctx:
            response = agent_client.get(reverse("crm:portal-search-results"), {"q": f"Count{n}"})
        assert len(result_names(response.content.decode())) == n
        return len(ctx)

    assert count_for(1) == count_for(6)


# Customer 360


def test_customer_360_shows_profile_accounts_products_orders_bills_alarms(agent_client, ada):
    other, other_account = make_customer(given_name="Grace", family_name="Hopper")
    other_product, other_service = make_active_product(
        other_account, offering=make_offering(), gnb=ada["gnb"], name="Grace's 5G"
    )
    alarm = make_alarm(ada["gnb"], [ada["service"], other_service], perceived_severity="critical")
    make_alarm(ada["gnb"], [ada["service"]], state="cleared", probable_cause="clearedCause")
    make_alarm(ada["gnb"], [other_service], probable_cause="otherCustomerCause")

    response = agent_client.get(reverse("crm:customer-detail", args=[ada["customer"].pk]))
    assert response.status_code == 200
    html = response.content.decode()
    # Profile and contacts.
    for text in ("Ada Lovelace", "ada@example.org", "+44 7700 900123", "1 High Street, N1 1AA"):
        assert text in html
    # Account with balance = the unpaid bill only: (25 + 40 + 7.50) * 1.2 = 87.00.
    assert '<td class="num" data-balance="BA00042">87.00 EUR</td>' in html
    # Product with status, characteristics, services and their supporting resources.
    assert f'data-product="{ada["product"].pk}"' in html
    assert '<span class="badge badge-ok" data-product-status>active</span>' in html
    assert "bandwidth: 1Gbps" in html
    assert ada["service"].name in html
    assert ">gnb-london-1</span>" in html
    assert f">{ada['service'].bindings.get(is_exclusive=True).resource.name}</span>" in html
    assert "Grace&#x27;s 5G" not in html
    # Orders with state and failure reason.
    assert "gNB refused the slice" in html
    assert '<span class="badge badge-bad">failed</span>' in html
    # Bills with totals and a link to the invoice.
    assert f'href="/portal/bills/{ada["unpaid"].pk}/">{ada["unpaid"].bill_no}</a>' in html
    assert "<strong>87.00 EUR</strong>" in html
    assert "<strong>36.00 EUR</strong>" in html
    # Only the open alarm on Ada's service; her services listed, not Grace's.
    assert [a.pk for a in response.context["alarms"]] == [alarm.pk]
    assert "1 open" in html
    assert '<span class="badge sev-critical">critical</span>' in html
    assert "clearedCause" not in html
    assert "otherCustomerCause" not in html
    assert [s.pk for s in response.context["alarms"][0].customer_services] == [ada["service"].pk]


def test_live_products_fragment_shows_state_changes(agent_client, ada):
    url = reverse("crm:customer-products", args=[ada["customer"].pk])
    page = agent_client.get(reverse("crm:customer-detail", args=[ada["customer"].pk]))
    assert f'data-live-url="{url}"' in page.content.decode()

    product, service = ada["product"], ada["service"]
    product.status = "suspended"
    product.save(update_fields=["status"])
    service.state = "inactive"
    service.save(update_fields=["state"])
    fragment = agent_client.get(url)
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "<html" not in html
    assert '<span class="badge badge-bad" data-product-status>suspended</span>' in html
    assert '<span class="badge badge-bad">inactive</span>' in html


def test_customer_360_unknown_customer_is_404(agent_client):
    assert agent_client.get(reverse("crm:customer-detail", args=[999999])).status_code == 404
    assert agent_client.get(reverse("crm:customer-products", args=[999999])).status_code == 404


def _customer_with(n: int, offering) -> int:
    """A customer with n products (each with a service on two resources), n bills, n alarms."""
    customer, account = make_customer(family_name=f"Rows{n}")
    gnb = make_gnb()
    for i in range(n):
        product, service = make_active_product(account, offering=offering, gnb=gnb)
        make_order(account, offering=offering, state="completed")
        make_bill(
            account,
            product,
            lines=[("recurring", "Monthly", Decimal("10.00"))],
            period_start=PERIOD_START.replace(year=2020 + i),
            period_end=PERIOD_END.replace(year=2020 + i),
        )
        make_alarm(gnb, [service])
    return customer.pk


def test_customer_360_query_count_does_not_grow(agent_client, offering):
    one, five = _customer_with(1, offering), _customer_with(5, offering)
    counts = {}
    for pk in (one, five):
        for name in ("crm:customer-detail", "crm:customer-products"):
            with CaptureQueriesContext(connection) as ctx:
                assert agent_client.get(reverse(name, args=[pk])).status_code == 200
            counts[(name, pk)] = len(ctx)
    assert counts[("crm:customer-detail", one)] == counts[("crm:customer-detail", five)]
    assert counts[("crm:customer-products", one)] == counts[("crm:customer-products", five)]


# Invoice


def test_bill_page_shows_lines_and_totals_that_match(agent_client, ada):
    bill = ada["unpaid"]
    response = agent_client.get(reverse("crm:bill-detail", args=[bill.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Invoice {bill.bill_no}" in html
    assert "BA00042" in html
    assert "2026-11-01 – 2026-12-01" in html
    rows = re.findall(r'<tr data-line="\d+">(.*?)</tr>', html, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    assert [(c[0], c[1], c[4], c[5], c[6], c[7], c[8], c[9]) for c in cells] == [
        ("One Time", "Activation fee", "1", "", "25.00 EUR", "20%", "5.00 EUR", "30.00 EUR"),
        ("Recurring", "5G Premium monthly", "1", "", "40.00 EUR", "20%", "8.00 EUR", "48.00 EUR"),
        ("Usage", "Data over allowance", "3.5", "GB", "7.50 EUR", "20%", "1.50 EUR", "9.00 EUR"),
    ]
    assert '<td class="num" data-total="net">72.50 EUR</td>' in html
    assert '<td class="num" data-total="tax">14.50 EUR</td>' in html
    assert '<td class="num" data-total="gross">87.00 EUR</td>' in html
    assert 'media="print"' in html


def test_bill_page_query_count_does_not_grow(agent_client, ada):
    small = ada["settled"]
    big = make_bill(
        ada["account"],
        ada["product"],
        lines=[("usage", f"Usage {i}", Decimal("1.00")) for i in range(8)],
        period_start=small.period_start.replace(year=2025),
        period_end=small.period_end.replace(year=2025),
    )
    counts = []
    for bill in (small, big):
        with CaptureQueriesContext(connection) as ctx:
            assert agent_client.get(reverse("crm:bill-detail", args=[bill.pk])).status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1]


# No external resources


EXTERNAL_URL = re.compile(r"https?://(?!testserver[/\"'])[^\s\"'<>]+")
STATIC_REFERENCE = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def test_pages_reference_no_external_url_and_all_static_files_exist(agent_client, ada):
    make_alarm(ada["gnb"], [ada["service"]])
    pages = [*portal_urls(ada), reverse("crm:portal-search") + "?q=Ada"]
    login_page = Client().get(reverse("login")).content.decode()
    htmls = [login_page] + [agent_client.get(url).content.decode() for url in pages]
    static_files = set()
    for html in htmls:
        assert EXTERNAL_URL.findall(html) == []
        static_files.update(STATIC_REFERENCE.findall(html))
    assert {"/static/css/app.css", "/static/js/search.js", "/static/js/live.js"} <= static_files
    assert "/static/css/print.css" in static_files
    for path in static_files:
        response = agent_client.get(path)
        assert response.status_code == 200, path
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert EXTERNAL_URL.findall(body.decode()) == [], path
