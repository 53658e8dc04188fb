"""What every app's demo data shares: who wrote it, the batch size and the operator's geography.

Each app seeds its own rows in its `demo.py` (catalog, crm, inventory, billing, assurance), and
the `seed_demo` command composes them in stack order. This kernel module imports no app.
"""

BATCH = 5000
SEED_USER = "seed_demo"  # who the demo's service calls and care history are recorded as

# The operator's regions and their cities: sites are built in them, customers live in them.
REGIONS = {
    "North": ["Leeds", "York", "Newcastle", "Sheffield"],
    "South": ["Brighton", "Southampton", "Portsmouth", "Reading"],
    "East": ["Norwich", "Cambridge", "Ipswich", "Colchester"],
    "West": ["Bristol", "Exeter", "Plymouth", "Bath"],
    "Central": ["Birmingham", "Leicester", "Coventry", "Nottingham"],
}
STREETS = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Victoria Road",
    "Park Avenue",
    "Mill Lane",
    "Queen Street",
    "London Road",
    "Green Lane",
    "King Street",
]
