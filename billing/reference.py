"""Reference data billing relies on: the usage specifications the network's records name."""

# The specifications of the usage this product's network reports. `migrate` makes sure they
# exist (see BillingConfig.ready): the demo data and mediation name them by these ids.
_RECORD = [
    {"name": "eventId", "valueType": "string", "description": "Unique id of the record"},
    {"name": "serviceId", "valueType": "string", "description": "The service used"},
    {"name": "ratingGroup", "valueType": "string", "description": "Which usage price applies"},
]
DEFAULT_USAGE_SPECIFICATIONS = (
    {
        "id": "data-session",
        "name": "Data session",
        "description": "Data volume of a session, reported by the packet core",
        "spec_characteristics": [
            *_RECORD,
            {"name": "volume", "valueType": "number", "description": "Volume used"},
            {"name": "unit", "valueType": "string", "description": "bytes, KB, MB or GB"},
        ],
    },
    {
        "id": "voice-call",
        "name": "Voice call",
        "description": "Duration of a voice call, reported by the IMS core",
        "spec_characteristics": [
            *_RECORD,
            {"name": "volume", "valueType": "number", "description": "Duration"},
            {"name": "unit", "valueType": "string", "description": "Unit of the duration"},
        ],
    },
    {
        "id": "sms",
        "name": "SMS",
        "description": "Short messages sent, reported by the SMS centre",
        "spec_characteristics": [
            *_RECORD,
            {"name": "volume", "valueType": "number", "description": "Messages sent"},
            {"name": "unit", "valueType": "string", "description": "Unit of the count"},
        ],
    },
)


def ensure_usage_specifications(rows) -> None:
    """Create the default usage specifications that are missing (`rows`: the model's manager,
    possibly the historical model's a migration has). Safe to run any number of times."""
    for spec in DEFAULT_USAGE_SPECIFICATIONS:
        rows.get_or_create(id=spec["id"], defaults={k: v for k, v in spec.items() if k != "id"})
