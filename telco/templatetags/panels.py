"""Render what other apps registered for an object's page (telco.panels).

    {% load panels %}
    {% render_panels "crm.customer" customer %}        every panel, in order
    <tr>...{% column_headers "inventory.site" %}</tr>  the registered columns' headers
    <tr>...{% column_cells "inventory.site" site %}</tr>  and one row's cells

A panel's template renders as an `{% include %}` would: with the page's context (request,
user, roles, csrf token) plus what the panel's context function returned and `object`.
"""

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

from telco import panels

register = template.Library()


def _user(context):
    request = context.get("request")
    return getattr(request, "user", None)


def _render(context, template_name: str, values: dict) -> str:
    included = context.template.engine.get_template(template_name)
    with context.push(**values):
        return included.render(context)


@register.simple_tag(takes_context=True)
def render_panels(context, object_type: str, obj) -> SafeString:
    """Every panel registered for `object_type` that the user may see, rendered for `obj`."""
    request = context.get("request")
    user = _user(context)
    html = [
        _render(context, panel.template, panels.panel_context(panel, request, obj))
        for panel in panels.panels_for(object_type)
        if panels.may_see(user, panel.roles)
    ]
    return mark_safe("".join(html))  # noqa: S308 - each part is a rendered (escaped) template


def _columns(context, object_type: str) -> list[panels.Column]:
    user = _user(context)
    return [c for c in panels.columns_for(object_type) if panels.may_see(user, c.roles)]


@register.simple_tag(takes_context=True)
def column_headers(context, object_type: str) -> SafeString:
    """`<th>` of each column registered for lists of `object_type`."""
    columns = _columns(context, object_type)
    return format_html_join("", '<th class="{}">{}</th>', ((c.css_class, c.title) for c in columns))


@register.simple_tag(takes_context=True)
def column_cells(context, object_type: str, obj) -> SafeString:
    """The cells of `obj`'s row for each column registered for `object_type`."""
    html = [
        _render(context, column.template, {"object": obj, "column": column})
        for column in _columns(context, object_type)
    ]
    return mark_safe("".join(html))  # noqa: S308 - each part is a rendered (escaped) template
