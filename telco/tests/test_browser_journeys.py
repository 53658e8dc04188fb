"""Browser journeys in Debian's Chromium, on the demo operator's data, with no internet."""

from io import StringIO

import pytest
from django.core.management import call_command

from assurance.models import Alarm
from billing.models import CustomerBill
from crm.models import Customer
from telco.testing import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_operator(transactional_db):
    call_command("seed_demo", "--customers", "40", stdout=StringIO())


def test_agent_finds_a_customer_and_reads_the_invoice(demo_operator, browser_page):
    bill = CustomerBill.objects.select_related("billing_account__customer").order_by("id").first()
    customer = bill.billing_account.customer
    page = browser_page
    browser_login(page, "agent", "agent-demo")
    assert page.url.endswith("/portal/")

    # Results appear as the agent types, without submitting the form.
    page.fill("input[name=q]", bill.billing_account.account_number)
    page.locator("#search-results a", has_text=customer.name).first.click()
    page.wait_for_url(f"**/portal/customers/{customer.pk}/")
    assert page.locator("h1").inner_text() == customer.name
    product = customer.products.get()
    assert page.get_by_text(product.name).count() > 0
    assert page.locator(".badge", has_text="active").count() > 0

    page.get_by_role("link", name=bill.bill_no).click()
    page.wait_for_url(f"**/portal/bills/{bill.pk}/")
    total = f"{bill.tax_included_amount:.2f} {bill.currency}"
    assert total in page.locator("body").inner_text()


def test_noc_engineer_sees_active_alarms_with_impacted_customers(demo_operator, browser_page):
    alarm = Alarm.objects.filter(is_service_affecting=True).order_by("id").first()
    impacted = Customer.objects.filter(products__services__alarms=alarm).order_by("name").first()
    page = browser_page
    browser_login(page, "noc", "noc-demo")
    assert page.url.endswith("/noc/")
    body = page.locator("body").inner_text()
    assert alarm.probable_cause in body
    assert impacted.name in body
