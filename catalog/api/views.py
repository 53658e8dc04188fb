"""TMF620 Product Catalog endpoints, and the read-only service and resource catalogs."""

from catalog import selectors, services
from catalog.api.serializers import (
    CatalogSerializer,
    CategorySerializer,
    ProductOfferingPriceSerializer,
    ProductOfferingSerializer,
    ProductSpecificationSerializer,
    ResourceSpecificationSerializer,
    ServiceSpecificationSerializer,
)
from telco.api.views import TMFCreateMixin, TMFDeleteMixin, TMFPatchMixin, TMFViewSet
from telco.roles import AGENT, FINANCE, NOC

CATALOG_READERS = (AGENT, NOC, FINANCE)


class ProductSpecificationViewSet(TMFCreateMixin, TMFPatchMixin, TMFDeleteMixin, TMFViewSet):
    serializer_class = ProductSpecificationSerializer
    read_roles = CATALOG_READERS
    write_roles = ()  # admin only
    filter_attributes = {
        "name": "name",
        "brand": "brand",
        "version": "version",
        "lifecycleStatus": "lifecycle_status",
        "lastUpdate": "last_update",
    }
    patchable_fields = (
        "name",
        "description",
        "brand",
        "version",
        "lifecycleStatus",
        "productSpecCharacteristic",
        "serviceSpecification",
    )

    def get_queryset(self):
        return selectors.product_specification_list()

    def perform_tmf_create(self, serializer):
        return services.product_specification_create(**serializer.validated_data)

    def perform_tmf_patch(self, instance, serializer):
        return services.product_specification_update(
            specification=instance, changes=serializer.validated_data
        )

    def perform_tmf_delete(self, instance):
        services.product_specification_delete(specification=instance)


class ProductOfferingViewSet(TMFCreateMixin, TMFPatchMixin, TMFDeleteMixin, TMFViewSet):
    serializer_class = ProductOfferingSerializer
    read_roles = CATALOG_READERS
    write_roles = ()  # admin only
    filter_attributes = {
        "name": "name",
        "lifecycleStatus": "lifecycle_status",
        "isSellable": "is_sellable",
        "isBundle": "is_bundle",
        "lastUpdate": "last_update",
        "productSpecification.id": "product_specification",
        "category.id": "categories__id",
        "bundledProductOffering.id": "bundled_offerings__id",
    }
    patchable_fields = (
        "name",
        "description",
        "isSellable",
        "isBundle",
        "lifecycleStatus",
        "validFor",
        "category",
        "marketSegment",
        "bundledProductOffering",
    )

    def get_queryset(self):
        return selectors.offering_list()

    def perform_tmf_create(self, serializer):
        # The lifecycle starts in design whatever the client says; PATCH moves it.
        data = {k: v for k, v in serializer.validated_data.items() if k != "lifecycle_status"}
        return services.offering_create(**data)

    def perform_tmf_patch(self, instance, serializer):
        return services.offering_update(
            offering=instance,
            changes=serializer.validated_data,
            by=self.request.user.get_username(),
        )

    def perform_tmf_delete(self, instance):
        services.offering_delete(offering=instance)


class ProductOfferingPriceViewSet(TMFCreateMixin, TMFPatchMixin, TMFDeleteMixin, TMFViewSet):
    serializer_class = ProductOfferingPriceSerializer
    read_roles = CATALOG_READERS
    write_roles = ()  # admin only
    filter_attributes = {
        "name": "name",
        "priceType": "price_type",
        "recurringChargePeriodType": "recurring_period",
        "ratingGroup": "rating_group",
        "lastUpdate": "last_update",
        "productOffering.id": "product_offering",
    }
    patchable_fields = (
        "name",
        "priceType",
        "recurringChargePeriodType",
        "price",
        "percentage",
        "applicationDuration",
        "priceTier",
        "unitOfMeasure",
        "ratingGroup",
        "includedAllowance",
        "validFor",
    )

    def get_queryset(self):
        return selectors.offering_price_list()

    def perform_tmf_create(self, serializer):
        return services.price_create(**serializer.validated_data)

    def perform_tmf_patch(self, instance, serializer):
        return services.price_update(price=instance, changes=serializer.validated_data)

    def perform_tmf_delete(self, instance):
        services.price_delete(price=instance)


class ServiceSpecificationViewSet(TMFViewSet):
    serializer_class = ServiceSpecificationSerializer
    read_roles = CATALOG_READERS
    filter_attributes = {
        "name": "name",
        "category": "category",
        "lifecycleStatus": "lifecycle_status",
    }

    def get_queryset(self):
        return selectors.service_specification_list()


class ResourceSpecificationViewSet(TMFViewSet):
    serializer_class = ResourceSpecificationSerializer
    read_roles = CATALOG_READERS
    filter_attributes = {
        "name": "name",
        "category": "resource_kind",
        "lifecycleStatus": "lifecycle_status",
    }

    def get_queryset(self):
        return selectors.resource_specification_list()


class CategoryViewSet(TMFCreateMixin, TMFPatchMixin, TMFDeleteMixin, TMFViewSet):
    serializer_class = CategorySerializer
    read_roles = CATALOG_READERS
    write_roles = ()  # admin only
    filter_attributes = {
        "name": "name",
        "lifecycleStatus": "lifecycle_status",
        "parentId": "parent",
        "lastUpdate": "last_update",
    }
    patchable_fields = ("name", "description", "lifecycleStatus", "parentId", "validFor")

    def get_queryset(self):
        return selectors.category_list()

    def perform_tmf_create(self, serializer):
        return services.category_create(**serializer.validated_data)

    def perform_tmf_patch(self, instance, serializer):
        return services.category_update(category=instance, changes=serializer.validated_data)

    def perform_tmf_delete(self, instance):
        services.category_delete(category=instance)


class CatalogViewSet(TMFCreateMixin, TMFPatchMixin, TMFDeleteMixin, TMFViewSet):
    serializer_class = CatalogSerializer
    read_roles = CATALOG_READERS
    write_roles = ()  # admin only
    filter_attributes = {
        "name": "name",
        "catalogType": "catalog_type",
        "lifecycleStatus": "lifecycle_status",
        "lastUpdate": "last_update",
        "category.id": "categories__id",
    }
    patchable_fields = (
        "name",
        "description",
        "catalogType",
        "lifecycleStatus",
        "validFor",
        "category",
    )

    def get_queryset(self):
        return selectors.catalog_list()

    def perform_tmf_create(self, serializer):
        return services.catalog_create(**serializer.validated_data)

    def perform_tmf_patch(self, instance, serializer):
        return services.catalog_update(catalog=instance, changes=serializer.validated_data)

    def perform_tmf_delete(self, instance):
        services.catalog_delete(catalog=instance)
