"""The finance pages: who may see them, what they show (exact figures at a pinned clock) and
that their queries do not grow with the rows."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.choices import BillState
from billing.tests.finance_data import (
    make_bill,
    make_payment,
    offering_in,
    product_of,
    utc,
)
from crm.tests.factories import BillingAccountFactory, CustomerFactory, IndividualFactory

pytestmark = pytest.mark.django_db
PAGES = ["/finance/", "/finance/bills/", "/finance/payments/", "/finance/aged-debt/"]
PAGES += ["/finance/revenue/"]


def account_of(name: str, number: str):
    given, family = name.split()
    party = IndividualFactory(given_name=given, family_name=family)
    return BillingAccountFactory(
        customer=CustomerFactory(party=party, name=name), account_number=number
    )


@pytest.fixture
def mobile():
    return offering_in("Mobile", sub_category="5G")


@pytest.fixture
def ada(mobile):
    account = account_of("Ada Lovelace", "TA00000001")
    return account, product_of(account, mobile)


@pytest.fixture
def alan(mobile):
    account = account_of("Alan Turing", "TA00000002")
    return account, product_of(account, offering_in("Broadband"))


def queries_of(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured), response.content.decode()


# --- who may see them -----------------------------------------------------------------------


def test_finance_and_admins_see_the_finance_pages(finance_client, admin_role_client):
    for url in PAGES:
        assert finance_client.get(url).status_code == 200, url
        assert admin_role_client.get(url).status_code == 200, url


def test_agents_and_the_noc_are_refused_and_strangers_sent_to_log_in(
    agent_client, noc_client, client
):
    for url in PAGES:
        assert agent_client.get(url).status_code == 403, url
        assert noc_client.get(url).status_code == 403, url
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


def test_the_top_bar_links_finance_for_finance_users_only(finance_client, agent_client):
    page = finance_client.get("/portal/").content.decode()
    assert '<a href="/finance/"' in page
    assert '<a href="/finance/"' not in agent_client.get("/portal/").content.decode()
    index = finance_client.get("/finance/").content.decode()
    assert 'aria-current="page">Finance</a>' in index
    for url in PAGES[1:]:
        assert f'href="{url}"' in index


# --- bills search ---------------------------------------------------------------------------


@pytest.fixture
def bills(ada, alan):
    (ada_account, ada_phone), (alan_account, alan_line) = ada, alan
    return [
        make_bill(ada_account, lines=[(ada_phone, "30.00")], period_start=utc(2026, 9, 1)),
        make_bill(
            ada_account,
            lines=[(ada_phone, "45.00")],
            period_start=utc(2026, 10, 1),
            state=BillState.SETTLED,
            paid="54.00",
        ),
        make_bill(alan_account, lines=[(alan_line, "100.00")], period_start=utc(2026, 10, 1)),
    ]


def shown_bills(client, query: dict) -> list[str]:
    response = client.get("/finance/bills/", query)
    assert response.status_code == 200, response.content.decode()[:500]
    page = response.content.decode()
    return [line.split('"')[1] for line in page.split("data-bill=")[1:]]


def test_bills_search_by_number_customer_state_period_and_amount(finance_client, bills):
    assert shown_bills(finance_client, {}) == ["INV-000003", "INV-000002", "INV-000001"]
    assert shown_bills(finance_client, {"number": "0002"}) == ["INV-000002"]
    assert shown_bills(finance_client, {"customer": "lovelace"}) == ["INV-000002", "INV-000001"]
    assert shown_bills(finance_client, {"customer": "ta00000002"}) == ["INV-000003"]
    assert shown_bills(finance_client, {"state": "settled"}) == ["INV-000002"]
    assert shown_bills(finance_client, {"period": "2026-10"}) == ["INV-000003", "INV-000002"]
    # Totals 36.00, 54.00 and 120.00 including tax.
    assert shown_bills(finance_client, {"amount_min": "36", "amount_max": "54"}) == [
        "INV-000002",
        "INV-000001",
    ]
    assert shown_bills(
        finance_client, {"customer": "Lovelace", "period": "2026-09", "state": "new"}
    ) == ["INV-000001"]
    page = finance_client.get("/finance/bills/", {"number": "0003"}).content.decode()
    assert "120.00 EUR" in page
    assert f'href="/portal/bills/{bills[2].pk}/pdf/"' in page
    assert f'href="/portal/bills/{bills[2].pk}/"' in page


def test_bills_search_refuses_bad_input_by_field(finance_client, bills):
    response = finance_client.get(
        "/finance/bills/", {"amount_min": "lots", "period": "October", "state": "paid"}
    )

    assert response.status_code == 400
    page = response.content.decode()
    for name in ("amount_min", "period", "state"):
        assert f'data-filter-error="{name}"' in page
    assert "data-bill=" not in page


def test_bills_are_paginated_fifty_a_page(finance_client, ada):
    account, product = ada
    for month in range(1, 12):
        for day_offset in range(5):
            make_bill(
                account,
                lines=[(product, "10.00")],
                period_start=utc(2020 + day_offset, month, 1),
            )

    first = shown_bills(finance_client, {})
    second = finance_client.get("/finance/bills/", {"page": 2}).content.decode()

    assert len(first) == 50
    assert second.count("data-bill=") == 5
    assert "Page 2 of 2" in second
    assert "55 bills" in second


def test_bills_and_payments_pages_cost_the_same_queries_for_one_row_or_many(
    finance_client, ada, alan
):
    account, product = ada
    bill = make_bill(account, lines=[(product, "10.00")], period_start=utc(2026, 1, 1))
    make_payment(account, amount="12.00", paid_at=utc(2026, 2, 3), bills=[(bill, "12.00")])
    one_bill, _ = queries_of(finance_client, "/finance/bills/")
    one_payment, _ = queries_of(finance_client, "/finance/payments/")

    for month in range(2, 12):
        other_account, other_product = alan if month % 2 else ada
        bill = make_bill(
            other_account, lines=[(other_product, "10.00")], period_start=utc(2026, month, 1)
        )
        make_payment(
            other_account, amount="20.00", paid_at=utc(2026, month, 5), bills=[(bill, "12.00")]
        )

    many_bills, page = queries_of(finance_client, "/finance/bills/")
    assert page.count("data-bill=") == 11
    many_payments, page = queries_of(finance_client, "/finance/payments/")
    assert page.count("data-payment=") == 11
    assert (many_bills, many_payments) == (one_bill, one_payment)


def test_payments_list_with_the_bills_they_settled_and_filters(finance_client, bills, alan):
    ada_bill = bills[1]
    make_payment(
        ada_bill.billing_account,
        amount="60.00",
        paid_at=utc(2026, 11, 20, 9, 30),
        bills=[(ada_bill, "54.00")],
        reference="BANK-77",
    )
    make_payment(alan[0], amount="10.00", paid_at=utc(2026, 11, 25), method="card")

    page = finance_client.get("/finance/payments/").content.decode()
    assert page.count("data-payment=") == 2
    assert "BANK-77" in page
    assert 'INV-000002</a> <span class="muted">54.00 EUR' in page
    assert "6.00 EUR" in page  # unallocated
    only_cards = finance_client.get("/finance/payments/", {"method": "card"}).content.decode()
    assert only_cards.count("data-payment=") == 1
    assert "Alan Turing" in only_cards
    by_date = finance_client.get(
        "/finance/payments/", {"date_from": "2026-11-20", "date_to": "2026-11-20"}
    ).content.decode()
    assert by_date.count("data-payment=") == 1
    assert "BANK-77" in by_date
    assert finance_client.get("/finance/payments/", {"date_to": "tomorrow"}).status_code == 400


# --- aged debt ------------------------------------------------------------------------------


def bucket_cells(page: str, marker: str) -> dict[str, str]:
    """The amounts of the row that `marker` starts, by bucket."""
    row = page.split(marker, 1)[1].split("</tr>", 1)[0]
    cells = row.split('data-bucket="')[1:]
    return {cell.split('"')[0]: cell.split(">", 1)[1].split("<", 1)[0] for cell in cells}


def test_aged_debt_by_account_and_bucket_with_totals(finance_client, ada, alan):
    # The clock is pinned at 2026-12-03 10:00 UTC (billing's conftest).
    (ada_account, ada_phone), (alan_account, alan_line) = ada, alan
    for month, (due, net) in enumerate(
        [
            (utc(2026, 12, 10), "10.00"),  # not yet due: 12.00
            (utc(2026, 11, 20), "20.00"),  # 13 days late: 24.00
            (utc(2026, 10, 20), "30.00"),  # 44 days late: 36.00
            (utc(2026, 9, 20), "40.00"),  # 74 days late: 48.00
            (utc(2026, 6, 1), "50.00"),  # 185 days late: 60.00, 20.00 of it paid
        ],
        start=1,
    ):
        make_bill(
            ada_account,
            lines=[(ada_phone, net)],
            period_start=utc(2026, month, 1),
            due=due,
            paid="20.00" if net == "50.00" else "0",
        )
    make_bill(
        alan_account,
        lines=[(alan_line, "100.00")],
        period_start=utc(2026, 9, 1),
        due=utc(2026, 11, 2),  # 31 days late: 120.00
    )
    # Settled bills owe nothing and are not listed.
    make_bill(
        alan_account,
        lines=[(alan_line, "5.00")],
        period_start=utc(2026, 8, 1),
        due=utc(2026, 9, 1),
        paid="6.00",
        state=BillState.SETTLED,
    )

    page = finance_client.get("/finance/aged-debt/").content.decode()

    assert "2 accounts owing" in page
    assert page.index('data-account="TA00000001"') < page.index('data-account="TA00000002"')
    assert bucket_cells(page, 'data-account="TA00000001"') == {
        "not_due": "12.00 EUR",
        "days_0_30": "24.00 EUR",
        "days_31_60": "36.00 EUR",
        "days_61_90": "48.00 EUR",
        "days_over_90": "40.00 EUR",
        "total": "160.00 EUR",
    }
    assert bucket_cells(page, 'data-account="TA00000002"') == {
        "not_due": "0.00 EUR",
        "days_0_30": "0.00 EUR",
        "days_31_60": "120.00 EUR",
        "days_61_90": "0.00 EUR",
        "days_over_90": "0.00 EUR",
        "total": "120.00 EUR",
    }
    assert bucket_cells(page, 'data-totals="EUR"') == {
        "not_due": "12.00 EUR",
        "days_0_30": "24.00 EUR",
        "days_31_60": "156.00 EUR",
        "days_61_90": "48.00 EUR",
        "days_over_90": "40.00 EUR",
        "total": "280.00 EUR",
    }


def test_aged_debt_costs_the_same_queries_for_one_account_or_many(finance_client, mobile):
    def owing(number: str):
        account = account_of("Debt Or", number)
        make_bill(
            account,
            lines=[(product_of(account, mobile), "10.00")],
            period_start=utc(2026, 8, 1),
            due=utc(2026, 9, 15),
        )

    owing("TA10000000")
    one, page = queries_of(finance_client, "/finance/aged-debt/")
    assert page.count("data-account=") == 1
    for i in range(1, 60):
        owing(f"TA1{i:07d}")

    many, page = queries_of(finance_client, "/finance/aged-debt/")

    assert page.count("data-account=") == 50  # a page; the totals cover all 60
    assert "60 accounts owing" in page
    assert bucket_cells(page, 'data-totals="EUR"')["total"] == "720.00 EUR"
    assert many == one
    second = finance_client.get("/finance/aged-debt/", {"page": 2}).content.decode()
    assert second.count("data-account=") == 10
    assert "Page 2 of 2" in second


# --- revenue --------------------------------------------------------------------------------


def line_cells(page: str, line: str) -> list[str]:
    """The texts of the numeric cells of the table row of product line `line` (tags removed)."""
    row = page.split(f'<tr data-line="{line}">', 1)[1].split("</tr>", 1)[0]
    cells = row.split('class="num">')[1:]
    return [re.sub(r"<[^>]+>", "", cell.split("</td>")[0]) for cell in cells]


def test_revenue_by_month_and_product_line(finance_client, ada, alan):
    (ada_account, ada_phone), (alan_account, alan_line) = ada, alan
    uncategorised = product_of(ada_account, offering_in("Mobile"))
    uncategorised.product_offering.categories.clear()
    make_bill(
        ada_account,
        lines=[(ada_phone, "30.00"), (uncategorised, "5.00")],
        period_start=utc(2026, 10, 1),
    )  # billed 2026-11-01
    make_bill(ada_account, lines=[(ada_phone, "31.50")], period_start=utc(2026, 11, 1))
    make_bill(alan_account, lines=[(alan_line, "100.00")], period_start=utc(2026, 10, 1))
    make_bill(alan_account, lines=[(alan_line, "15.00")], period_start=utc(2026, 11, 1))
    # Thirteen months ago: outside the twelve months shown.
    make_bill(alan_account, lines=[(alan_line, "999.00")], period_start=utc(2025, 10, 1))

    page = finance_client.get("/finance/revenue/").content.decode()

    # Columns: Jan 2026 .. Dec 2026, then the total; 5G rolls up into its top category.
    assert line_cells(page, "Broadband")[-3:] == ["100.00", "15.00", "115.00 EUR"]
    assert line_cells(page, "Mobile")[-3:] == ["30.00", "31.50", "61.50 EUR"]
    assert line_cells(page, "Other")[-3:] == ["5.00", "–", "5.00 EUR"]
    assert page.index('<tr data-line="Broadband">') < page.index('<tr data-line="Mobile">')
    assert "181.50 EUR over 12 months" in page
    # The chart: one bar a month, a segment per positive line amount, drawn inline.
    assert page.count("<g data-month=") == 12
    assert 'data-month="Nov 2026" data-total="135.0000"' in page
    assert 'data-month="Dec 2026" data-total="46.5000"' in page
    segments = page.split('data-month="Nov 2026"')[1].split("</g>")[0]
    assert segments.count('class="segment"') == 3
    assert "<script" not in page.split("<main")[1]
    wider = finance_client.get("/finance/revenue/", {"months": 24}).content.decode()
    assert wider.count("<g data-month=") == 24
    assert "1,180.50 EUR over 24 months" in wider


def test_revenue_costs_the_same_queries_for_few_bills_or_many(finance_client, ada, alan):
    (ada_account, ada_phone), (alan_account, alan_line) = ada, alan
    make_bill(ada_account, lines=[(ada_phone, "30.00")], period_start=utc(2026, 10, 1))
    few, _ = queries_of(finance_client, "/finance/revenue/")
    for month in range(1, 11):
        make_bill(alan_account, lines=[(alan_line, "10.00")], period_start=utc(2026, month, 1))
        make_bill(
            ada_account,
            lines=[(ada_phone, "10.00"), (product_of(ada_account, offering_in("Business")), "1")],
            period_start=utc(2026, month, 1) if month != 10 else utc(2025, 10, 1),
        )

    many, page = queries_of(finance_client, "/finance/revenue/")

    assert 'data-line="Business"' in page
    assert many == few
