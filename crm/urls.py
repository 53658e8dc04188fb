from django.urls import path

from crm import views

app_name = "crm"
urlpatterns = [
    path("", views.portal_search, name="portal-search"),
    path("search/", views.portal_search_results, name="portal-search-results"),
    path("customers/<int:pk>/", views.customer_detail, name="customer-detail"),
    path("customers/<int:pk>/products/", views.customer_products, name="customer-products"),
    path("bills/<int:pk>/", views.bill_detail, name="bill-detail"),
]
