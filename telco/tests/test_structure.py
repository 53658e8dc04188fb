"""The layout DESIGN.md describes, checked on the source: imports go down the stack, another app's
models are read only through its selectors, nothing imports a private name, modules stay small.

The checker reads the source with `ast` (no import runs), so a violation anywhere in the tree, even
in a module no test imports, fails the suite.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Lower numbers sit lower in the stack; an app may import only apps with a smaller number.
# Apps on the same level (catalog and crm, orders and assurance) do not import each other.
LEVELS = {
    "kernel": 0,
    "catalog": 1,
    "crm": 1,
    "inventory": 2,
    "billing": 3,
    "orders": 4,
    "assurance": 4,
}
DOMAIN_APPS = {name for name in LEVELS if name != "kernel"}

# The project wiring in telco/ sits above every app; the rest of telco/ is the kernel. The package's
# own `__init__` is wiring too: it loads the Celery app when Django starts.
WIRING = {
    "telco.settings",
    "telco.urls",
    "telco.celery",
    "telco.wsgi",
    "telco.management",
    # Operations (metrics, health) read every app's figures.
    "telco.ops",
    # The audit trail records changes to the models of every app.
    "telco.audit",
}
WIRING_PACKAGE = "telco"

MAX_LINES = 600


def layer_of_module(dotted: str) -> str | None:
    """'kernel', 'wiring', a domain app's name, or None for code that is not ours."""
    top = dotted.split(".")[0]
    if top == "telco":
        if dotted == WIRING_PACKAGE:
            return "wiring"
        wired = any(dotted == w or dotted.startswith(w + ".") for w in WIRING)
        return "wiring" if wired else "kernel"
    return top if top in DOMAIN_APPS else None


def is_test_code(path: Path) -> bool:
    return "tests" in path.parts or path.name in {"conftest.py", "testing.py"}


def may_import_models_of_other_apps(path: Path) -> bool:
    """Relations down the stack are declared in models; migrations and tests build rows."""
    return path.name == "models.py" or "models" in path.parts[:-1] or "migrations" in path.parts


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.Module) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) for every absolute import, including those inside functions."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
    return found


def import_problems(where: str, path: Path, layer: str, dotted: str) -> list[str]:
    """What is wrong with code of `layer` (in `path`) importing the module or name `dotted`."""
    target = layer_of_module(dotted)
    if target is None or target == layer or layer == "wiring" or target == "kernel":
        return []
    if target == "wiring":
        return [f"{where}: {layer} imports the project wiring {dotted}"]
    if layer == "kernel":
        return [f"{where}: the kernel imports the app {dotted}"]
    problems = []
    if LEVELS[target] >= LEVELS[layer]:
        problems.append(f"{where}: {layer} imports {dotted}, which is not below it")
    if dotted.split(".")[1:2] == ["models"] and not may_import_models_of_other_apps(path):
        problems.append(f"{where}: {layer} takes {dotted} directly (read it via selectors)")
    return problems


def violations(path: Path, source: str) -> list[str]:
    """Every rule of the layout that `source` (the text of `path`) breaks."""
    here = module_name(path)
    layer = layer_of_module(here)
    if layer is None or is_test_code(path) or "migrations" in path.parts:
        return []
    problems = []
    tree = ast.parse(source)
    module_aliases = set()
    for line, module, names in imported_modules(tree):
        where = f"{path.relative_to(ROOT)}:{line}"
        for name in names:
            if name.startswith("_") and not name.startswith("__"):
                problems.append(f"{where}: imports the private name {name} from {module}")
        module_aliases.update(name for name in names if not name.startswith("_"))
        # `from inventory import models` is an import of inventory.models.
        for dotted in [f"{module}.{name}" for name in names] or [module]:
            problems.extend(import_problems(where, path, layer, dotted))
    for node in ast.walk(tree):
        # `validation._helper(...)`: reaching into another module's private name.
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and node.value.id[:1].islower()
        ):
            problems.append(
                f"{path.relative_to(ROOT)}:{node.lineno}: uses the private name "
                f"{node.value.id}.{node.attr}"
            )
    return problems


def product_modules() -> list[Path]:
    roots = ["telco", *sorted(DOMAIN_APPS)]
    return [
        path
        for root in roots
        for path in sorted((ROOT / root).rglob("*.py"))
        if not is_test_code(path) and "migrations" not in path.parts
    ]


def test_the_tree_follows_the_layout():
    problems = [p for path in product_modules() for p in violations(path, path.read_text())]
    assert problems == [], "\n".join(problems)


def test_no_product_module_passes_600_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in product_modules()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these by sub-domain: {long}"


# The checker itself: each rule catches what it is meant to, so the test above can fail.
@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("crm/views.py", "from billing.selectors import x\n", "crm imports billing.selectors"),
        ("catalog/services.py", "from crm import selectors\n", "catalog imports crm"),
        ("orders/views.py", "import assurance.selectors\n", "orders imports assurance"),
        ("telco/money.py", "from crm.models import Party\n", "the kernel imports the app"),
        ("crm/services.py", "from telco.urls import urlpatterns\n", "the project wiring"),
        ("billing/services.py", "from crm.models import BillingAccount\n", "takes crm.models"),
        ("billing/services.py", "from crm import models\n", "takes crm.models"),
        ("billing/services.py", "def f():\n    from inventory.models import Service\n", "takes"),
        ("orders/services/a.py", "from orders.services.b import _helper\n", "private name _helper"),
        ("orders/services/a.py", "from orders.services import b\nb._helper()\n", "b._helper"),
    ],
)
def test_the_checker_catches(path, source, expected):
    found = violations(ROOT / path, source)
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("billing/models.py", "from crm.models import BillingAccount\n"),
        ("billing/services.py", "from crm import selectors\nfrom telco import money\n"),
        ("telco/management/commands/seed_demo.py", "from billing import demo\n"),
        ("orders/services/a.py", "from orders.models import ProductOrder\n"),
        ("assurance/services.py", "from billing import services\n"),
        ("crm/tests/test_x.py", "from billing.models import CustomerBill\n"),
    ],
)
def test_the_checker_allows(path, source):
    assert violations(ROOT / path, source) == []
