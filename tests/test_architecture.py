"""
Rules of the code's layout that review alone would let slip, checked by reading the source
(docs/architecture.md describes the layout).
"""

import ast

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


def test_the_rule_reads_every_module():
    names = {path.relative_to(settings.BASE_DIR).as_posix() for path in sources()}
    assert {"implementation/access.py", "states/models.py", "tests/test_architecture.py"} <= names
