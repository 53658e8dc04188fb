"""Finance in Debian's Chromium: from the top bar to the aged debt and the revenue chart, then
a bill found by its customer and its PDF invoice downloaded and read back."""

import io
import re

import pytest
from pypdf import PdfReader

from billing.tests.finance_data import make_bill, offering_in, product_of, utc
from crm.tests.factories import BillingAccountFactory, CustomerFactory, IndividualFactory
from telco.testing import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def debts(transactional_db):
    """Two customers owing: Ada one bill 44 days late, Alan one not yet due (clock: 3 Dec)."""
    bills = {}
    for given, family, number, line, due, net in [
        ("Ada", "Lovelace", "TA00000001", "Mobile", utc(2026, 10, 20), "30.00"),
        ("Alan", "Turing", "TA00000002", "Broadband", utc(2026, 12, 15), "100.00"),
    ]:
        party = IndividualFactory(given_name=given, family_name=family, city="Leeds")
        account = BillingAccountFactory(
            customer=CustomerFactory(party=party, name=f"{given} {family}"),
            account_number=number,
        )
        product = product_of(account, offering_in(line))
        bills[given] = make_bill(
            account, lines=[(product, net)], period_start=utc(2026, 10, 1), due=due
        )
    return bills


def test_finance_reads_aged_debt_and_revenue_and_downloads_an_invoice(
    debts, finance_user, browser_page
):
    page = browser_page
    browser_login(page, "finance1", "pw-finance")

    page.locator("nav.mainnav a", has_text="Finance").click()
    page.wait_for_url("**/finance/")

    # Aged debt: Ada's 36.00 is 31-60 days late, Alan's 120.00 not yet due; totals beneath.
    page.locator("[data-finance-pages] a", has_text="Aged debt").click()
    page.wait_for_url("**/finance/aged-debt/")
    ada_row = page.locator('tr[data-account="TA00000001"]')
    assert ada_row.locator('[data-bucket="days_31_60"]').inner_text() == "36.00 EUR"
    totals = page.locator('tr[data-totals="EUR"]')
    assert totals.locator('[data-bucket="not_due"]').inner_text() == "120.00 EUR"
    assert totals.locator('[data-bucket="total"]').inner_text() == "156.00 EUR"

    # Revenue: November's bar stacks Broadband over Mobile, drawn inline and visible.
    page.locator("nav.mainnav a", has_text="Finance").click()
    page.locator("[data-finance-pages] a", has_text="Revenue").click()
    page.wait_for_url("**/finance/revenue/")
    november = page.locator('svg g[data-month="Nov 2026"] rect.segment')
    assert november.count() == 2
    assert november.first.is_visible()
    heights = [float(november.nth(i).get_attribute("height")) for i in range(2)]
    assert heights[0] > heights[1] * 3  # 100.00 against 30.00
    assert page.locator('tr[data-line="Broadband"] td').last.inner_text() == "100.00 EUR"

    # Bills: find Ada's, open it, download its PDF and read it.
    page.locator("nav.mainnav a", has_text="Finance").click()
    page.locator("[data-finance-pages] a", has_text="Bills").click()
    page.fill("input[name=customer]", "Lovelace")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/finance/bills/?*customer=Lovelace*")
    rows = page.locator("tr[data-bill]")
    assert rows.count() == 1
    bill_no = debts["Ada"].bill_no
    rows.first.get_by_role("link", name=bill_no).click()
    page.wait_for_url(f"**/portal/bills/{debts['Ada'].pk}/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{bill_no}.pdf"
    with open(download.path(), "rb") as pdf:
        reader = PdfReader(io.BytesIO(pdf.read()))
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))
    assert f"Invoice {bill_no}" in text
    assert "Ada Lovelace" in text
    assert "Total due 36.00 EUR" in text
