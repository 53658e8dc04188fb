from django.urls import include, path

from crm.api import account_views, views
from telco.api.views import TMFRouter

app_name = "crm-api"

party = TMFRouter()
party.register("individual", views.IndividualViewSet, basename="individual")
party.register("organization", views.OrganizationViewSet, basename="organization")

customer = TMFRouter()
customer.register("customer", views.CustomerViewSet, basename="customer")

account = TMFRouter()
account.register("billingAccount", views.BillingAccountViewSet, basename="billingAccount")
for name, viewset in (
    ("partyAccount", account_views.PartyAccountViewSet),
    ("settlementAccount", account_views.SettlementAccountViewSet),
    ("financialAccount", account_views.FinancialAccountViewSet),
    ("billingCycleSpecification", account_views.BillingCycleSpecificationViewSet),
    ("billFormat", account_views.BillFormatViewSet),
    ("billPresentationMedia", account_views.BillPresentationMediaViewSet),
):
    account.register(name, viewset, basename=name)

ticket = TMFRouter()
ticket.register("troubleTicket", views.TroubleTicketViewSet, basename="troubleTicket")

interaction = TMFRouter()
interaction.register("partyInteraction", views.PartyInteractionViewSet, basename="partyInteraction")

urlpatterns = [
    path("tmf-api/party/v4/", include(party.urls)),
    path("tmf-api/customerManagement/v4/", include(customer.urls)),
    path("tmf-api/accountManagement/v4/", include(account.urls)),
    path("tmf-api/troubleTicket/v4/", include(ticket.urls)),
    path("tmf-api/partyInteraction/v4/", include(interaction.urls)),
]
