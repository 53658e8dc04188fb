"""Bulk import of the physical network from CSV: sites, equipment, cards, ports, ducts, cables,
links.

Every row is checked first, against the database and against the other rows of the file; any
error rejects the whole file with one message per bad cell (row number as a spreadsheet shows
it, the header being row 1; column; message) and nothing is written. A valid file goes in
with `bulk_create`, in one transaction. Names are the natural key: a row whose name exists
already is skipped, so importing the same file twice changes nothing.
"""

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction

from catalog.choices import ResourceKind
from inventory import paths
from inventory.choices import EQUIPMENT_KINDS, LINK_KINDS, LinkMedium, ResourceCategory
from inventory.models import Link, Region, Resource, Site
from inventory.services import devices_of, part_problems
from telco.exceptions import DomainError

# Required and optional columns of each kind, in the order a template file lists them.
COLUMNS = {
    "sites": (("name", "region"), ("address", "latitude", "longitude")),
    "equipment": (
        ("name", "role", "site"),
        ("vendor", "model", "serial_number", "capacity_mbps"),
    ),
    "cards": (("equipment", "slot"), ("name", "model")),
    "ports": (("parent", "position", "capacity_mbps"), ("name",)),
    "ducts": (("name",), ()),
    "cables": (("name",), ("medium", "duct")),
    "links": (("name", "a_end", "z_end"), ("medium", "capacity_mbps", "cable")),
}
IMPORT_KINDS = tuple(COLUMNS)
MAX_ROWS = 50_000
BATCH = 5000
FIRST_ROW = 2  # the header is row 1


class ImportRejected(DomainError):
    """The file has errors; `rows` lists them as {row, column, message}."""

    code = "invalidImport"

    def __init__(self, rows: list[dict]):
        first = rows[0]
        super().__init__(
            f"{len(rows)} error(s); nothing was imported. First: row {first['row']}, "
            f"{first['column']}: {first['message']}"
        )
        self.rows = rows


@dataclass
class ImportResult:
    kind: str
    created: int = 0
    skipped: int = 0
    names: list[str] = field(default_factory=list)


class _Rows:
    """The file's rows with their numbers, and the errors found in them."""

    def __init__(self, rows: list[dict]):
        self.rows = [(FIRST_ROW + index, row) for index, row in enumerate(rows)]
        self.errors: list[dict] = []

    def error(self, number: int, column: str, message: str) -> None:
        self.errors.append({"row": number, "column": column, "message": message})

    def integer(self, number: int, row: dict, column: str, default: int = 0) -> int | None:
        raw = (row.get(column) or "").strip()
        if not raw:
            return default
        if not (raw.isascii() and raw.isdigit()):
            self.error(number, column, f"'{raw}' is not a whole number.")
            return None
        return int(raw)

    def duplicates(self, column: str, values: list[tuple]) -> None:
        """Values that must be unique in the file: (row number, value) or (number, column,
        value) when they come from more than one column."""
        cells = [(cell[0], column, cell[1]) if len(cell) == 2 else cell for cell in values]
        counts = Counter(value for _, _, value in cells if value)
        for number, cell_column, value in cells:
            if value and counts[value] > 1:
                self.error(number, cell_column, f"'{value}' appears more than once in the file.")


def _read(text: str, kind: str) -> _Rows:
    if kind not in COLUMNS:
        raise DomainError(f"Import one of: {', '.join(IMPORT_KINDS)}.", field="kind")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    required, optional = COLUMNS[kind]
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [column for column in required if column not in header]
    if missing:
        raise ImportRejected(
            [{"row": 1, "column": column, "message": "Missing column."} for column in missing]
        )
    unknown = [column for column in header if column not in (*required, *optional)]
    if unknown:
        raise ImportRejected(
            [{"row": 1, "column": column, "message": "Unknown column."} for column in unknown]
        )
    rows = [{key: (value or "").strip() for key, value in row.items()} for row in reader]
    if not rows:
        raise ImportRejected([{"row": FIRST_ROW, "column": "", "message": "The file is empty."}])
    if len(rows) > MAX_ROWS:
        raise ImportRejected(
            [{"row": FIRST_ROW + MAX_ROWS, "column": "", "message": f"At most {MAX_ROWS} rows."}]
        )
    parsed = _Rows(rows)
    for number, row in parsed.rows:
        for column in required:
            if not row.get(column):
                parsed.error(number, column, "Required.")
    return parsed


def _existing_names(names) -> set[str]:
    return set(Resource.objects.filter(name__in=list(names)).values_list("name", flat=True))


def _resources_by_name(names) -> dict[str, Resource]:
    return {r.name: r for r in Resource.objects.filter(name__in=[n for n in set(names) if n])}


def _sites(parsed: _Rows) -> tuple[list, list[str]]:
    existing = set(
        Site.objects.filter(name__in=[r["name"] for _, r in parsed.rows]).values_list(
            "name", flat=True
        )
    )
    parsed.duplicates("name", [(n, r["name"]) for n, r in parsed.rows])
    regions = {r.name: r for r in Region.objects.all()}
    new, skipped = [], []
    for number, row in parsed.rows:
        coordinates = {}
        for column, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
            raw = row.get(column, "")
            if not raw:
                coordinates[column] = None
                continue
            try:
                value = Decimal(raw)
            except InvalidOperation:
                parsed.error(number, column, f"'{raw}' is not a number.")
                continue
            if not low <= value <= high:
                parsed.error(number, column, f"Must be between {low} and {high}.")
            coordinates[column] = value.quantize(Decimal("0.000001"))
        if len(row.get("name", "")) > 80:
            parsed.error(number, "name", "At most 80 characters.")
        if row["name"] in existing:
            skipped.append(row["name"])
            continue
        new.append((row, coordinates))
    if parsed.errors:
        return [], skipped
    objects = []
    for row, coordinates in new:
        region = regions.get(row["region"])
        if region is None:
            region = regions[row["region"]] = Region(name=row["region"])
        objects.append(
            Site(
                region=region,
                name=row["name"],
                address=row.get("address", ""),
                latitude=coordinates.get("latitude"),
                longitude=coordinates.get("longitude"),
            )
        )
    return objects, skipped


def _physical(name: str, kind: str, **values) -> Resource:
    return Resource(name=name, resource_kind=kind, category=ResourceCategory.PHYSICAL, **values)


def _equipment(parsed: _Rows) -> tuple[list, list[str]]:
    parsed.duplicates("name", [(n, r["name"]) for n, r in parsed.rows])
    existing = _existing_names(r["name"] for _, r in parsed.rows)
    sites = {s.name: s for s in Site.objects.filter(name__in=[r["site"] for _, r in parsed.rows])}
    objects, skipped = [], []
    for number, row in parsed.rows:
        capacity = parsed.integer(number, row, "capacity_mbps")
        if row["role"] not in EQUIPMENT_KINDS:
            parsed.error(number, "role", f"Must be one of: {', '.join(EQUIPMENT_KINDS)}.")
        if row["site"] and row["site"] not in sites:
            parsed.error(number, "site", f"No site named '{row['site']}'.")
        if row["name"] in existing:
            skipped.append(row["name"])
            continue
        if not parsed.errors:
            objects.append(
                _physical(
                    row["name"],
                    row["role"],
                    site=sites[row["site"]],
                    vendor=row.get("vendor", ""),
                    model=row.get("model", ""),
                    serial_number=row.get("serial_number", ""),
                    capacity_mbps=capacity or 0,
                )
            )
    return objects, skipped


def _parts(parsed: _Rows, kind: str) -> tuple[list, list[str]]:
    """Cards in equipment slots, or ports on cards/equipment: one position once per parent."""
    parent_column, position_column = (
        ("equipment", "slot") if kind == ResourceKind.CARD else ("parent", "position")
    )
    columns = {"parent": parent_column, "position": position_column}
    # A name left blank is derived from parent and position, checked with the position.
    parsed.duplicates("name", [(n, r.get("name", "")) for n, r in parsed.rows])
    for _, row in parsed.rows:
        row["name"] = row.get("name") or f"{row[parent_column]}/{row[position_column]}"
    parsed.duplicates(
        position_column,
        [(n, f"{r[parent_column]}/{r[position_column]}") for n, r in parsed.rows],
    )
    existing = _existing_names(r["name"] for _, r in parsed.rows)
    parents = _resources_by_name(r[parent_column] for _, r in parsed.rows)
    occupied = set(
        Resource.objects.filter(parent__in=parents.values())
        .exclude(position="")
        .values_list("parent__name", "position")
    )
    objects, skipped = [], []
    for number, row in parsed.rows:
        capacity = parsed.integer(number, row, "capacity_mbps") if kind == "port" else 0
        if row["name"] in existing:
            skipped.append(row["name"])
            continue
        parent = parents.get(row[parent_column])
        if parent is None:
            parsed.error(number, parent_column, f"No resource named '{row[parent_column]}'.")
            continue
        # The same rule as the services (and TMF639 POST) apply to one card or port.
        for problem_field, message in part_problems(
            kind=kind,
            parent=parent,
            position=row[position_column],
            position_taken=(parent.name, row[position_column]) in occupied,
        ):
            parsed.error(number, columns[problem_field], message)
        if not parsed.errors:
            objects.append(
                _physical(
                    row["name"],
                    kind,
                    parent=parent,
                    site_id=parent.site_id,
                    position=row[position_column],
                    model=row.get("model", ""),
                    vendor=parent.vendor,
                    capacity_mbps=capacity or 0,
                )
            )
    return objects, skipped


def _ducts(parsed: _Rows) -> tuple[list, list[str]]:
    parsed.duplicates("name", [(n, r["name"]) for n, r in parsed.rows])
    existing = _existing_names(r["name"] for _, r in parsed.rows)
    skipped = [r["name"] for _, r in parsed.rows if r["name"] in existing]
    objects = [
        _physical(r["name"], ResourceKind.DUCT) for _, r in parsed.rows if r["name"] not in existing
    ]
    return objects, skipped


def _cables(parsed: _Rows) -> tuple[list, list[str]]:
    parsed.duplicates("name", [(n, r["name"]) for n, r in parsed.rows])
    existing = _existing_names(r["name"] for _, r in parsed.rows)
    ducts = _resources_by_name(r.get("duct", "") for _, r in parsed.rows)
    objects, skipped = [], []
    for number, row in parsed.rows:
        medium = row.get("medium") or LinkMedium.FIBRE
        if medium not in (LinkMedium.FIBRE, LinkMedium.COPPER):
            parsed.error(number, "medium", "A cable is fibre or copper.")
        duct = ducts.get(row.get("duct", ""))
        if row.get("duct") and (duct is None or duct.resource_kind != ResourceKind.DUCT):
            parsed.error(number, "duct", f"No duct named '{row['duct']}'.")
        if row["name"] in existing:
            skipped.append(row["name"])
            continue
        if not parsed.errors:
            objects.append(
                _physical(
                    row["name"], ResourceKind.CABLE, parent=duct, characteristics={"medium": medium}
                )
            )
    return objects, skipped


def _links(parsed: _Rows) -> tuple[list, list[str]]:
    parsed.duplicates("name", [(n, r["name"]) for n, r in parsed.rows])
    ends = [(n, column, r[column]) for n, r in parsed.rows for column in ("a_end", "z_end")]
    parsed.duplicates("a_end", ends)
    existing = _existing_names(r["name"] for _, r in parsed.rows)
    resources = _resources_by_name(
        value for _, r in parsed.rows for value in (r["a_end"], r["z_end"], r.get("cable", ""))
    )
    linked = set(
        Link.objects.filter(a_end__in=resources.values()).values_list("a_end_id", flat=True)
    ) | set(Link.objects.filter(z_end__in=resources.values()).values_list("z_end_id", flat=True))
    checked = []
    for number, row in parsed.rows:
        capacity = parsed.integer(number, row, "capacity_mbps", default=10_000)
        if row["name"] in existing:
            continue
        medium = row.get("medium") or LinkMedium.FIBRE
        if medium not in LinkMedium.values:
            parsed.error(number, "medium", f"Must be one of: {', '.join(LinkMedium.values)}.")
        found = {}
        for column in ("a_end", "z_end"):
            end = resources.get(row[column])
            if end is None or end.resource_kind != ResourceKind.PORT:
                parsed.error(number, column, f"No port named '{row[column]}'.")
            elif end.pk in linked:
                parsed.error(number, column, f"Port {end.name} already has a link.")
            found[column] = end
        if row["a_end"] and row["a_end"] == row["z_end"]:
            parsed.error(number, "z_end", "A link joins two different ports.")
        cable = resources.get(row.get("cable", "")) if row.get("cable") else None
        if row.get("cable"):
            if cable is None or cable.resource_kind != ResourceKind.CABLE:
                parsed.error(number, "cable", f"No cable named '{row['cable']}'.")
            elif medium == LinkMedium.MICROWAVE:
                parsed.error(number, "cable", "A microwave link runs in no cable.")
            elif cable.characteristics.get("medium", medium) != medium:
                parsed.error(number, "cable", f"{cable.name} is not a {medium} cable.")
        checked.append((row, found, medium, cable, capacity))
    skipped = [r["name"] for _, r in parsed.rows if r["name"] in existing]
    if parsed.errors:
        return [], skipped
    devices = devices_of([end.pk for _, found, _, _, _ in checked for end in found.values()])
    objects = [
        Link(
            name=row["name"],
            resource_kind=LINK_KINDS[medium],
            category=ResourceCategory.PHYSICAL,
            parent=cable,
            medium=medium,
            capacity_mbps=capacity,
            a_end=found["a_end"],
            z_end=found["z_end"],
            a_device_id=devices[found["a_end"].pk],
            z_device_id=devices[found["z_end"].pk],
        )
        for row, found, medium, cable, capacity in checked
    ]
    return objects, skipped


def _bulk_create(kind: str, objects: list) -> None:
    if kind == "sites":
        Region.objects.bulk_create(
            {s.region.name: s.region for s in objects if not s.region.pk}.values()
        )
        for site in objects:
            site.region = site.region  # the region has its id now
        Site.objects.bulk_create(objects, batch_size=BATCH)
    elif kind == "links":
        # A multi-table model cannot be bulk-created: the resource rows first, then the links.
        parents = Resource.objects.bulk_create(
            [
                Resource(
                    name=link.name,
                    resource_kind=link.resource_kind,
                    category=link.category,
                    parent=link.parent,
                    capacity_mbps=link.capacity_mbps,
                )
                for link in objects
            ],
            batch_size=BATCH,
        )
        table = Link._meta.db_table
        rows = [
            (
                parent.pk,
                link.a_end_id,
                link.z_end_id,
                link.a_device_id,
                link.z_device_id,
                link.medium,
            )
            for parent, link in zip(parents, objects, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (resource_ptr_id, a_end_id, z_end_id, a_device_id,"  # noqa: S608
                " z_device_id, medium) VALUES (%s, %s, %s, %s, %s, %s)",
                rows,
            )
    else:
        Resource.objects.bulk_create(objects, batch_size=BATCH)


VALIDATORS = {
    "sites": _sites,
    "equipment": _equipment,
    "cards": lambda parsed: _parts(parsed, ResourceKind.CARD),
    "ports": lambda parsed: _parts(parsed, ResourceKind.PORT),
    "ducts": _ducts,
    "cables": _cables,
    "links": _links,
}


def network_import(*, kind: str, text: str) -> ImportResult:
    """Import one kind of network object from CSV text: all rows or none (see module doc)."""
    with transaction.atomic():
        parsed = _read(text, kind)
        objects, skipped = VALIDATORS[kind](parsed)
        if parsed.errors:
            raise ImportRejected(sorted(parsed.errors, key=lambda e: (e["row"], e["column"])))
        try:
            with transaction.atomic():
                _bulk_create(kind, objects)
        except IntegrityError as error:
            # A concurrent import or edit took a name or position between check and write.
            raise ImportRejected(
                [{"row": FIRST_ROW, "column": "", "message": f"Conflicting change: {error}"}]
            ) from None
        if kind == "links" and objects:
            # New uplinks change routes: the services on their devices get their paths again.
            ends = {link.a_device_id for link in objects} | {link.z_device_id for link in objects}
            paths.service_paths_rebuild_through(ends - {None})
    return ImportResult(
        kind=kind, created=len(objects), skipped=len(skipped), names=[o.name for o in objects]
    )
