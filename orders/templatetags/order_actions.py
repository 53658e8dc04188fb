"""Template filters of the portal's order pages, used on the customer 360 page too."""

from django import template

from orders.views.portal import product_actions_for

register = template.Library()


@register.filter
def product_actions(product) -> list:
    """The order actions valid for this product's status (change plan, suspend, ...)."""
    return product_actions_for(product.status)
