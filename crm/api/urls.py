from django.urls import include, path

from crm.api import views
from telco.api.views import TMFRouter

app_name = "crm-api"

party = TMFRouter()
party.register("individual", views.IndividualViewSet, basename="individual")
party.register("organization", views.OrganizationViewSet, basename="organization")

customer = TMFRouter()
customer.register("customer", views.CustomerViewSet, basename="customer")

account = TMFRouter()
account.register("billingAccount", views.BillingAccountViewSet, basename="billingAccount")

urlpatterns = [
    path("tmf-api/party/v4/", include(party.urls)),
    path("tmf-api/customerManagement/v4/", include(customer.urls)),
    path("tmf-api/accountManagement/v4/", include(account.urls)),
]
