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


class CatalogEntityViewSet(TMFCreateMixin, TMFPatchMixin, TMFDeleteMixin, TMFViewSet):
    """A catalog entity read by every role and written by admins, each write one service call.

    Subclasses name the selector and services; `entity` is the keyword the update and delete
    services take the row by (`category_update(category=..., changes=...)`).
    """

    read_roles = CATALOG_READERS
    write_roles = ()  # admin only
    entity: str
    list_selector = None
    create_service = None
    update_service = None
    delete_service = None

    def get_queryset(self):
        return self.list_selector()

    def perform_tmf_create(self, serializer):
        return self.create_service(**serializer.validated_data)

    def perform_tmf_patch(self, instance, serializer):
        return self.update_service(**{self.entity: instance}, changes=serializer.validated_data)

    def perform_tmf_delete(self, instance):
        self.delete_service(**{self.entity: instance})


class ProductSpecificationViewSet(CatalogEntityViewSet):
    serializer_class = ProductSpecificationSerializer
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
    entity = "specification"
    list_selector = staticmethod(selectors.product_specification_list)
    create_service = staticmethod(services.product_specification_create)
    update_service = staticmethod(services.product_specification_update)
    delete_service = staticmethod(services.product_specification_delete)


class ProductOfferingViewSet(CatalogEntityViewSet):
    serializer_class = ProductOfferingSerializer
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
    entity = "offering"
    list_selector = staticmethod(selectors.offering_list)
    create_service = staticmethod(services.offering_create)
    delete_service = staticmethod(services.offering_delete)

    def perform_tmf_create(self, serializer):
        # The lifecycle starts in design whatever the client says; PATCH moves it.
        data = {k: v for k, v in serializer.validated_data.items() if k != "lifecycle_status"}
        return self.create_service(**data)

    def perform_tmf_patch(self, instance, serializer):
        return services.offering_update(
            offering=instance,
            changes=serializer.validated_data,
            by=self.request.user.get_username(),
        )


class ProductOfferingPriceViewSet(CatalogEntityViewSet):
    serializer_class = ProductOfferingPriceSerializer
    filter_attributes = {
        "name": "name",
        "priceType": "price_type",
        "recurringChargePeriodType": "recurring_period",
        "ratingGroup": "rating_group",
        "lifecycleStatus": "lifecycle_status",
        "lastUpdate": "last_update",
        "productOffering.id": "product_offering",
    }
    patchable_fields = (
        "name",
        "lifecycleStatus",
        "productOffering",
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
    entity = "price"
    list_selector = staticmethod(selectors.offering_price_list)
    create_service = staticmethod(services.price_create)
    update_service = staticmethod(services.price_update)
    delete_service = staticmethod(services.price_delete)

    def perform_tmf_create(self, serializer):
        return services.price_create(
            **serializer.validated_data, by=self.request.user.get_username()
        )

    def perform_tmf_patch(self, instance, serializer):
        return services.price_update(
            price=instance,
            changes=serializer.validated_data,
            by=self.request.user.get_username(),
        )


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


class CategoryViewSet(CatalogEntityViewSet):
    serializer_class = CategorySerializer
    filter_attributes = {
        "name": "name",
        "lifecycleStatus": "lifecycle_status",
        "parentId": "parent",
        "lastUpdate": "last_update",
    }
    patchable_fields = ("name", "description", "lifecycleStatus", "parentId", "validFor")
    entity = "category"
    list_selector = staticmethod(selectors.category_list)
    create_service = staticmethod(services.category_create)
    update_service = staticmethod(services.category_update)
    delete_service = staticmethod(services.category_delete)


class CatalogViewSet(CatalogEntityViewSet):
    serializer_class = CatalogSerializer
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
    entity = "catalog"
    list_selector = staticmethod(selectors.catalog_list)
    create_service = staticmethod(services.catalog_create)
    update_service = staticmethod(services.catalog_update)
    delete_service = staticmethod(services.catalog_delete)
