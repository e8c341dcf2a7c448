"""
Rules of the code's layout that review alone would let slip, checked by reading the source
(docs/architecture.md describes the layout).
"""

import ast

import pytest
from django.conf import settings

PACKAGES = ("config", "states", "measures", "implementation", "tests")


def sources():
    for package in PACKAGES:
        for path in sorted((settings.BASE_DIR / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_no_module_imports_a_private_name_from_another():
    # A name that another module needs gets a public name; "_name" says "only here".
    found = []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom):
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                if private:
                    found.append(f"{path.relative_to(settings.BASE_DIR)}:{node.lineno} imports {', '.join(private)}")
    assert not found, "\n".join(found)


def imported_apps(path):
    """The project's top-level packages that the module at ``path`` imports, with the line of each import."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno


@pytest.mark.parametrize(
    ("app", "forbidden"), [("states", {"measures", "implementation"}), ("measures", {"implementation"})]
)
def test_the_base_apps_do_not_import_the_apps_built_on_them(app, forbidden):
    # Migrations included: a base app must migrate without the apps above it.
    found = [
        f"{path.relative_to(settings.BASE_DIR)}:{line} imports {name}"
        for path in sorted((settings.BASE_DIR / app).rglob("*.py"))
        for name, line in imported_apps(path)
        if name in forbidden
    ]
    assert not found, "\n".join(found)


def test_the_rule_reads_every_module():
    names = {path.relative_to(settings.BASE_DIR).as_posix() for path in sources()}
    assert {"implementation/access.py", "states/models.py", "tests/test_architecture.py"} <= names
