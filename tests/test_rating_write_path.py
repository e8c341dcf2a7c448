"""
Ratings and their history are written in one module, implementation/ratings.py, so that every
change is stamped and recorded the same way (docs/architecture.md, "Where a rating is written").
These tests read every other module of the project and fail on a new way of writing them.
"""

import ast
import re

import pytest
from django.conf import settings

# The one module that writes ratings, and the benchmark's set-based dataset builder: the one exception.
ALLOWED = {"implementation/ratings.py", "devtools/dataset.py"}
WRITE_METHODS = {
    "create",
    "bulk_create",
    "bulk_update",
    "update",
    "update_or_create",
    "get_or_create",
    "delete",
    "bulk_history_create",
}
# Loading one rating from a queryset; what a loop over a queryset yields is a rating too.
ONE_ROW_METHODS = {"first", "last", "get", "earliest", "latest"}
ROW_MAKERS = {"current_or_new", "save_rating", "set_rating", "confirm_rating", "carry_over_rating"}
# A variable named as one rating is: ``rating``, ``old_rating``, ``self_report``.
RATING_NAME = re.compile(r"(?:^|_)(?:rating|self_report)$")
TABLE = r"\\?[\"'`]?implementation_(?:historical)?rating\b"
SQL_WRITE_TO_TABLE = re.compile(
    rf"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|MERGE\s+INTO)\s+{TABLE}", re.IGNORECASE
)
SQL_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE\s+\S+\s+(?:AS\s+\w+\s+)?SET|DELETE\s+FROM)\b", re.IGNORECASE)


def modules(root):
    """Every module of the project's packages under ``root``, outside tests and migrations."""
    for package in sorted(root.iterdir()):
        if package.name.startswith(".") or package.name == "tests" or not (package / "__init__.py").exists():
            continue
        for path in sorted(package.rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(root).as_posix(), path.read_text()


def _dotted(node):
    """``a.b.c`` for an attribute chain on a name, else ``None``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


class WriteFinder(ast.NodeVisitor):
    """The lines of one module that write a rating or a history row of one."""

    def __init__(self):
        self.models = {"Rating"}
        self.history = {"HistoricalRating"}
        self.querysets = set()
        self.rows = set()
        self.found = []

    def is_model(self, node):
        return isinstance(node, ast.Name) and node.id in self.models

    def is_history_model(self, node):
        if isinstance(node, ast.Name):
            return node.id in self.history
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "model"
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "history"
            and self.is_model(node.value.value)
        )

    def is_queryset(self, node):
        """Whether ``node`` is a manager or queryset of ratings or of their history."""
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ONE_ROW_METHODS:
                return False
            node = node.func.value
        if isinstance(node, ast.Name):
            return node.id in self.querysets
        if isinstance(node, ast.Attribute):
            if node.attr in ("objects", "history", "_default_manager", "_base_manager"):
                return self.is_model(node.value) or self.is_history_model(node.value)
            # A State's or a measure's related manager: ``state.ratings``.
            return node.attr == "ratings"
        return False

    def is_row(self, node):
        """Whether ``node`` is, by how it was made or named, one rating."""
        if isinstance(node, ast.Name):
            return node.id in self.rows or bool(RATING_NAME.search(node.id))
        if isinstance(node, ast.Attribute):
            return bool(RATING_NAME.search(node.attr))
        if isinstance(node, ast.Call):
            func = node.func
            if self.is_model(func) or self.is_history_model(func):
                return True
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ROW_MAKERS:
                return True
            return isinstance(func, ast.Attribute) and func.attr in ONE_ROW_METHODS and self.is_queryset(func.value)
        if isinstance(node, ast.Subscript):
            return self.is_queryset(node.value)
        return False

    def report(self, node, what):
        self.found.append(f"{node.lineno}: {what}")

    def visit_ImportFrom(self, node):
        for alias in node.names:
            if alias.name == "Rating":
                self.models.add(alias.asname or alias.name)
            elif alias.name == "HistoricalRating":
                self.history.add(alias.asname or alias.name)

    def bind(self, target, value):
        if not isinstance(target, ast.Name):
            return
        if self.is_model(value):
            self.models.add(target.id)
        elif self.is_history_model(value):
            self.history.add(target.id)
        elif self.is_queryset(value):
            self.querysets.add(target.id)
        elif self.is_row(value):
            self.rows.add(target.id)

    def visit_Assign(self, node):
        for target in node.targets:
            self.bind(target, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.bind(node.target, node.value)
        self.generic_visit(node)

    def visit_NamedExpr(self, node):
        self.bind(node.target, node.value)
        self.generic_visit(node)

    def visit_For(self, node):
        if isinstance(node.target, ast.Name) and self.is_queryset(node.iter):
            self.rows.add(node.target.id)
        self.generic_visit(node)

    def visit_comprehension(self, node):
        if isinstance(node.target, ast.Name) and self.is_queryset(node.iter):
            self.rows.add(node.target.id)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if self.is_model(func):
            self.report(node, "makes a Rating")
        elif self.is_history_model(func):
            self.report(node, "makes a history row of a rating")
        elif isinstance(func, ast.Attribute):
            if func.attr in WRITE_METHODS and self.is_queryset(func.value):
                self.report(node, f"calls {func.attr}() on ratings or their history")
            elif func.attr in ("save", "delete", "save_without_historical_record") and self.is_row(func.value):
                self.report(node, f"calls {func.attr}() on a rating")
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("bulk_create_with_history", "bulk_update_with_history") and any(
            self.is_model(argument) for argument in [*node.args, *(keyword.value for keyword in node.keywords)]
        ):
            self.report(node, f"calls {name}() for ratings")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        # Raw SQL that names the ratings' tables by the model rather than by name.
        if node.attr == "db_table" and isinstance(node.value, ast.Attribute) and node.value.attr == "_meta":
            model = node.value.value
            if self.is_model(model) or self.is_history_model(model):
                self.report(node, "takes the table of ratings or their history for raw SQL")
        self.generic_visit(node)


def write_paths(source):
    """The lines of ``source`` (a module's text) that write ratings or their history."""
    finder = WriteFinder()
    # Twice: the second pass knows every name bound in the first, wherever it is bound.
    finder.visit(ast.parse(source))
    finder.found = []
    finder.visit(ast.parse(source))
    found = [line for line in finder.found if "for raw SQL" not in line or SQL_WRITE.search(source)]
    for match in SQL_WRITE_TO_TABLE.finditer(source):
        found.append(f"{source.count(chr(10), 0, match.start()) + 1}: raw SQL that writes ratings ({match[0]!r})")
    return found


def test_only_ratings_py_writes_ratings_and_their_history():
    found = [
        f"{name}:{line}"
        for name, source in modules(settings.BASE_DIR)
        if name not in ALLOWED
        for line in write_paths(source)
    ]
    assert not found, "Write ratings through implementation/ratings.py:\n" + "\n".join(found)


def test_the_scan_reads_every_app_and_the_allowed_modules_exist():
    names = {name for name, _source in modules(settings.BASE_DIR)}
    assert {"implementation/ratings.py", "implementation/workflow.py", "states/models.py", "config/urls.py"} <= names
    assert len(ALLOWED & names) == 2, "the benchmark's dataset builder has moved: update ALLOWED"


WRITES = [
    "from .models import Rating\nRating(state=state, measure=measure, kind=kind)",
    "from .models import Rating\nRating.objects.create(state=state)",
    "from .models import Rating\nRating.objects.bulk_create(ratings, batch_size=500)",
    "from .models import Rating\nRating.objects.filter(state=state).update(status='implemented')",
    "from .models import Rating\nRating.objects.update_or_create(state=state, defaults={})",
    "from .models import Rating\nRating.objects.get_or_create(state=state)",
    "from .models import Rating\nratings = Rating.objects.filter(kind='assessed')\nratings.update(status='')",
    "from .models import Rating\nrow = Rating.objects.filter(pk=1).first()\nrow.status = 'x'\nrow.save()",
    "from .models import Rating\nfor row in Rating.objects.all():\n    row.save()",
    "def accept(submission):\n    self_report.save()",
    "def f(state):\n    state.ratings.update(status='')",
    "from .models import Rating\nHistory = Rating.history.model\nHistory.objects.bulk_create(rows)",
    "from .models import Rating\nHistory = Rating.history.model\nrows = [History(**values)]",
    "from .models import Rating\nRating.history.model(history_type='+')",
    "from .ratings import HistoricalRating\nHistoricalRating.objects.bulk_create(rows)",
    "from .models import Rating\nRating.history.bulk_history_create(ratings)",
    "from .models import Rating as R\nR.objects.bulk_create(made)",
    "from .models import Rating\nbulk_create_with_history(made, Rating)",
    "cursor.execute('INSERT INTO implementation_historicalrating (id) VALUES (1)')",
    'cursor.execute("UPDATE implementation_rating SET status = %s", ["x"])',
    'cursor.execute("delete from \\"implementation_rating\\"")',
    "from .models import Rating\ntable = Rating._meta.db_table\ncursor.execute(f'UPDATE {table} AS r SET status = 1')",
]
READS = [
    "from .models import Rating\nRating.objects.filter(state=state).current_edition().first()",
    "from .models import Rating\nRating.history.filter(id=1).count()",
    "from .models import Rating\nratings = {r.pk: r for r in Rating.objects.all()}\nratings.update({1: 2})",
    "from .models import Rating\nstatus = Rating.Status(value).label\nkinds = list(Rating.Kind)",
    "from .models import Rating\nsubmission = Submission(state=state)\nsubmission.save()",
    "from .models import Rating\nREASON = Rating.history.model._meta.get_field('history_change_reason').max_length",
    "from .ratings import save_rating\nsave_rating(rating, by=user, reason='Checked')",
    "cursor.execute('SELECT status FROM implementation_rating WHERE id = %s', [1])",
    "from .models import Rating\ntable = Rating._meta.db_table\ncursor.execute(f'SELECT count(*) FROM {table}')",
    "formset.save(commit=False)",
]


@pytest.mark.parametrize("source", WRITES)
def test_the_scan_finds_each_way_of_writing_a_rating(source):
    assert write_paths(source)


@pytest.mark.parametrize("source", READS)
def test_the_scan_lets_reading_ratings_pass(source):
    assert write_paths(source) == []
