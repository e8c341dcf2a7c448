"""
Rules of the code's layout that review alone would let slip, checked by reading the source
(docs/architecture.md describes the layout).
"""

import ast

from django.conf import settings

PACKAGES = ("config", "core", "states", "measures", "accounts", "implementation", "devtools", "tests")


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


def modules_of(app):
    """Every module of ``app``, migrations included: a base app must migrate without the apps above it."""
    paths = sorted((settings.BASE_DIR / app).rglob("*.py"))
    assert paths, f"{app}/ holds no module, so a rule about it would check nothing."
    return paths


def imports_of(paths, forbidden):
    return [
        f"{path.relative_to(settings.BASE_DIR)}:{line} imports {name}"
        for path in paths
        for name, line in imported_apps(path)
        if name in forbidden
    ]


def test_the_base_apps_import_only_core():
    # states and measures are what the rest is built on; they share only what core holds.
    found = []
    for app in ("states", "measures"):
        found += imports_of(modules_of(app), set(PACKAGES) - {app, "core"})
    assert not found, "\n".join(found)


def test_the_base_apps_migrate_without_the_apps_above_them():
    found = []
    for app in ("states", "measures"):
        for path in modules_of(app):
            if "migrations" in path.parts:
                found += [
                    f"{path.relative_to(settings.BASE_DIR)} depends on {name}"
                    for name in migration_dependencies(path)
                    if name in set(PACKAGES) - {app, "core"}
                ]
    assert not found, "\n".join(found)


def migration_dependencies(path):
    """The apps named in the ``dependencies`` of the migration at ``path``."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "dependencies" for t in node.targets):
            for item in getattr(node.value, "elts", ()):
                if isinstance(item, ast.Tuple) and isinstance(item.elts[0], ast.Constant):
                    yield item.elts[0].value


def test_core_imports_no_app_of_the_project():
    found = imports_of(modules_of("core"), set(PACKAGES) - {"core"})
    assert not found, "\n".join(found)


def test_only_tests_import_the_developer_tools():
    # The demo data and the benchmarks write made-up rows; the site never runs them.
    modules_of("devtools")
    outside = [path for path in sources() if path.parts[len(settings.BASE_DIR.parts)] not in {"devtools", "tests"}]
    found = imports_of(outside, {"devtools"})
    assert not found, "\n".join(found)


def test_the_rule_reads_every_module():
    names = {path.relative_to(settings.BASE_DIR).as_posix() for path in sources()}
    assert {
        "implementation/access.py",
        "states/models.py",
        "core/loading.py",
        "accounts/views.py",
        "devtools/demo.py",
        "tests/test_architecture.py",
    } <= names
