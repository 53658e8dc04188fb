"""Agent portal pages: customer search, the customer 360 view, and customer care (trouble
tickets and logged interactions).

The 360 page shows what CRM holds (profile, contacts, credit, tickets, interactions) and renders
the panels other apps register for "crm.customer" (billing's accounts, payments and bills,
assurance's open alarms) and, in the live block it refreshes, for "crm.customer.live"
(inventory's products and services, orders' recent orders): telco.panels.

Agents and admins change things; finance reads every page but sees no form, and its POSTs are
403; the NOC is not in the portal (nor would it see personal data there: `crm.permissions`,
the rule the API applies). Forms parse input and call one crm service; a refusal is shown next
to the field it names.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm import portal_queries, selectors, services
from crm.choices import OPEN_TICKET_STATUSES, TICKET_TRANSITIONS, TicketStatus
from crm.forms import InteractionForm, TicketForm, TicketNoteForm, TicketStatusForm
from crm.permissions import may_see_personal_data
from telco.exceptions import DomainError
from telco.roles import AGENT, has_role

# The ticket list's filter: its values and labels.
TICKET_FILTERS = [("open", "Open"), ("all", "All"), *TicketStatus.choices]
# The buttons for the moves a ticket can make, in the order they are offered: work forward
# first, withdrawals last.
MOVE_LABELS = {
    TicketStatus.IN_PROGRESS: "Start work",
    TicketStatus.RESOLVED: "Resolve",
    TicketStatus.CLOSED: "Close",
    TicketStatus.PENDING: "Wait for customer",
    TicketStatus.HELD: "Hold",
    TicketStatus.CANCELLED: "Cancel",
    TicketStatus.REJECTED: "Reject",
}
# How often the 360 page refreshes the live products block (milliseconds).
LIVE_REFRESH_MS = 4000


def can_change(user) -> bool:
    """Agents and admins handle tickets and log contacts; finance reads."""
    return has_role(user, AGENT)


def _submit(form, call, fields: dict[str, str]):
    """`call()` (one crm service) if the form is valid; its result, or None when the form or
    the service refused. A service's refusal is shown next to the form field it names, found
    in `fields` (the service's field name -> the form's), else above the form."""
    if not form.is_valid():
        return None
    try:
        return call()
    except DomainError as error:
        form.add_error(fields.get(error.field or ""), error.message)
        return None


def _search_context(query: str) -> dict:
    customers = portal_queries.search_customers(query)
    return {"query": query, "customers": customers, "limit": portal_queries.SEARCH_LIMIT}


def portal_search(request):
    """The landing page: a search box; results inline (the form also works without JS)."""
    query = request.GET.get("q", "").strip()
    return render(request, "crm/portal_search.html", _search_context(query))


def portal_search_results(request):
    """The results table alone, fetched by the search box as the agent types."""
    query = request.GET.get("q", "").strip()
    return render(request, "crm/_search_results.html", _search_context(query))


def _customer_context(request, pk: int, interaction_form=None) -> dict:
    customer = portal_queries.customer_profile(pk)
    party = customer.party
    # The same rule as the API: personal data only for the roles that deal with the customer.
    personal = may_see_personal_data(request.user)
    profiles = list(customer.credit_profiles.all()) if personal else []
    return {
        "customer": customer,
        "party": party,
        "contact_media": list(party.contact_media.all()),
        "show_personal_data": personal,
        "identifications": list(party.identifications.all()) if personal else [],
        "credit_profile": profiles[0] if profiles else None,
        "tickets": list(selectors.open_tickets_for_customer(customer.pk)),
        "timeline": selectors.customer_timeline(customer.pk),
        "can_change": can_change(request.user),
        "interaction_form": interaction_form or InteractionForm(),
        "live_refresh_ms": LIVE_REFRESH_MS,
    }


def customer_detail(request, pk: int):
    """Customer 360: profile with contact media and identifications, credit profile, open
    tickets and the interaction timeline, and the panels other apps register (accounts with
    balance and overdue, payments, bills, open alarms; live products and orders)."""
    return render(request, "crm/customer_detail.html", _customer_context(request, pk))


@require_POST
def interaction_create(request, pk: int):
    """Log a contact from the 360 page; errors re-render the page with the form."""
    customer = portal_queries.customer_or_404(pk)
    form = InteractionForm(request.POST)
    interaction = _submit(
        form,
        lambda: services.party_interaction_create(
            customer=customer, **form.cleaned_data, by=request.user.get_username()
        ),
        {"channel": "channel", "reason": "reason"},
    )
    if interaction is not None:
        messages.success(request, "Interaction logged.")
        return redirect("crm:customer-detail", pk=customer.pk)
    context = _customer_context(request, customer.pk, interaction_form=form)
    return render(request, "crm/customer_detail.html", context, status=400)


def ticket_new(request, pk: int):
    """Open a trouble ticket for the customer (GET shows the form; agents and admins POST)."""
    customer = portal_queries.customer_or_404(pk)
    targets = portal_queries.customer_ticket_targets(customer.pk)
    if request.method == "POST":  # agents and admins (telco.access)
        form = TicketForm(request.POST, targets=targets)
        ticket = _submit(
            form,
            lambda: services.trouble_ticket_create(
                customer=customer,
                ticket_type=form.cleaned_data["ticket_type"],
                severity=form.cleaned_data["severity"],
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                related_entities=form.related_entities(),
                by=request.user.get_username(),
            ),
            {"description": "description", "ticketType": "ticket_type"},
        )
        if ticket is not None:
            messages.success(request, f"Ticket TT{ticket.pk} opened.")
            return redirect("crm:ticket-detail", pk=ticket.pk)
        status = 400
    else:
        form, status = TicketForm(targets=targets), 200
    context = {"customer": customer, "form": form, "can_change": can_change(request.user)}
    return render(request, "crm/ticket_new.html", context, status=status)


def ticket_list(request):
    """Trouble tickets, most urgent first; open ones unless another filter is chosen."""
    status = request.GET.get("status", "open")
    if status not in dict(TICKET_FILTERS):
        status = "open"
    context = {
        "tickets": portal_queries.ticket_page_list(status),
        "status": status,
        "filters": TICKET_FILTERS,
        "limit": portal_queries.TICKET_LIST_LIMIT,
    }
    return render(request, "crm/ticket_list.html", context)


def _ticket_context(request, pk: int, *, note_form=None, status_form=None) -> dict:
    ticket = portal_queries.ticket_with_history(pk)
    moves = sorted(TICKET_TRANSITIONS[ticket.status], key=list(MOVE_LABELS).index)
    return {
        "ticket": ticket,
        "customer": ticket.customer,
        "history": list(ticket.history.all()),
        "moves": [(move, MOVE_LABELS[move]) for move in moves],
        "is_open": ticket.status in OPEN_TICKET_STATUSES,
        "can_change": can_change(request.user),
        "note_form": note_form or TicketNoteForm(),
        "status_form": status_form or TicketStatusForm(),
    }


def ticket_detail(request, pk: int):
    """A ticket: details, deadlines, notes, status history, and (for agents) its actions."""
    return render(request, "crm/ticket_detail.html", _ticket_context(request, pk))


@require_POST
def ticket_note(request, pk: int):
    """Append a note to the ticket."""
    ticket = portal_queries.ticket_with_history(pk)
    form = TicketNoteForm(request.POST)
    updated = _submit(
        form,
        lambda: services.trouble_ticket_update(
            ticket=ticket,
            changes={"notes": [{"text": form.cleaned_data["text"]}]},
            by=request.user.get_username(),
        ),
        {"note.text": "text"},
    )
    if updated is not None:
        messages.success(request, "Note added.")
        return redirect("crm:ticket-detail", pk=ticket.pk)
    context = _ticket_context(request, ticket.pk, note_form=form)
    return render(request, "crm/ticket_detail.html", context, status=400)


@require_POST
def ticket_status(request, pk: int):
    """Move the ticket to the status of the button pressed (an illegal move is refused)."""
    ticket = portal_queries.ticket_with_history(pk)
    form = TicketStatusForm(request.POST)
    updated = _submit(
        form,
        lambda: services.trouble_ticket_update(
            ticket=ticket,
            changes={
                "status": form.cleaned_data["status"],
                "status_change_reason": form.cleaned_data["reason"],
            },
            by=request.user.get_username(),
        ),
        {"status": "status"},
    )
    if updated is not None:
        # The service refuses a status it does not know, so the move made has a label.
        label = TicketStatus(updated.status).label
        messages.success(request, f"Ticket TT{ticket.pk} is now {label.lower()}.")
        return redirect("crm:ticket-detail", pk=ticket.pk)
    context = _ticket_context(request, ticket.pk, status_form=form)
    return render(request, "crm/ticket_detail.html", context, status=400)


def customer_products(request, pk: int):
    """The live block of the 360 page (the "crm.customer.live" panels: products, services,
    orders), polled by the page."""
    customer = portal_queries.customer_or_404(pk)
    return render(request, "crm/_customer_live.html", {"customer": customer})
