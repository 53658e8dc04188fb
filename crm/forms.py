"""Portal forms of customer care: they parse input; the crm services decide and write."""

from django import forms

from crm.choices import LOGGED_CHANNELS, InteractionDirection, TicketSeverity, TicketType


class InteractionForm(forms.Form):
    """Log a contact with the customer on the 360 page."""

    channel = forms.ChoiceField(choices=[(c.value, c.label) for c in LOGGED_CHANNELS])
    direction = forms.ChoiceField(choices=InteractionDirection.choices)
    reason = forms.CharField(max_length=160)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class TicketForm(forms.Form):
    """Open a trouble ticket for the customer, optionally about one of their products or
    services (`related` is "Product:12" or "Service:34", from the customer's own)."""

    ticket_type = forms.ChoiceField(label="Type", choices=TicketType.choices)
    severity = forms.ChoiceField(choices=TicketSeverity.choices, initial=TicketSeverity.MINOR)
    name = forms.CharField(label="Summary", max_length=160, required=False)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))
    related = forms.ChoiceField(label="About", required=False)

    def __init__(self, *args, targets: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.labels = dict(targets)
        self.fields["related"].choices = [("", "— nothing in particular —"), *targets]

    def related_entities(self) -> list[dict]:
        value = self.cleaned_data.get("related")
        if not value:
            return []
        referred_type, _, entity_id = value.partition(":")
        return [
            {
                "id": entity_id,
                "@referredType": referred_type,
                "name": self.labels[value].lstrip("— "),
                "role": "affected",
            }
        ]


class TicketNoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}))


class TicketStatusForm(forms.Form):
    """Move the ticket; the buttons carry the allowed next states only."""

    status = forms.CharField()
    reason = forms.CharField(
        label="Reason / resolution", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
