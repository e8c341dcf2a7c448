"""
The dashboards' cache, which is never stale, and their conditional requests (docs/architecture.md,
"The dashboards' cache").

An entry is a dashboard's main content (its title, head and content blocks) or one of its downloads,
keyed by the address, the language, the reader's scope and a **fingerprint** of the data: the latest
history row of every table a dashboard reads, read in one query at the start of the request. Every
write leaves a history row, so a write changes the fingerprint and the next request builds afresh,
whatever path made the write; nothing is ever invalidated by hand.
"""

import dataclasses
import functools
import hashlib
import json
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseNotModified
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import parse_etags, quote_etag
from django.utils.safestring import mark_safe

from measures.models import Edition, Measure, Section
from states.models import MemberState, Region, RegionMembership, Role, Workshop, is_analyst, role_kinds

from . import context_processors, tables
from .exports import export_response
from .models import Assessment, AssistanceNeed, Rating, Recommendation

# What a page is drawn from besides the data: a new release keys its pages afresh, though the cache outlives it.
RELEASE_FOLDERS = [
    "accounts", "config", "core", "implementation", "locale", "measures", "states", "static", "templates",
]  # fmt: skip
RELEASE_FILES = {".py", ".html", ".mo", ".css", ".js", ".svg", ".json"}
PARTS = ("title", "head", "content")

# What every dashboard shows whatever day it shows: the catalogue, the States, regions and workshops,
# the roles, and the user names a timeline gives.
REFERENCE = {
    "states": [MemberState],
    "regions": [Region],
    "memberships": [RegionMembership],
    "workshops": [Workshop],
    "roles": [Role],
    "editions": [Edition],
    "sections": [Section],
    "measures": [Measure],
    "users": [get_user_model()],
}
# The records a dashboard reads as they stand now. "As of" a past day, a page reads most of them from
# their history, dated when written and so never changed afterwards; ``Dashboard.reads_now`` names the others.
RECORDS = {
    "ratings": [Rating],
    "assessments": [Assessment],
    "recommendations": [Recommendation, (Recommendation, "measures")],
    "needs": [AssistanceNeed, (AssistanceNeed, "measures")],
}


@dataclasses.dataclass(frozen=True)
class Dashboard:
    """A page of the cache: its template, its downloads and what it reads as it stands now even "as of" a past day."""

    template: str
    tables: Callable  # board -> {name: Table}
    reads_now: tuple = ()  # names of RECORDS
    context: Callable | None = None  # (board, its tables, request) -> more of the template's context: a page of rows


def respond(request, dashboard, filters, build):
    """
    The page or download that ``request`` asks for, from the cache or from ``build()`` (the board),
    with its ``ETag``; ``304`` when the browser's copy is still the one it would get.
    """
    key = cache_key(request, dashboard, filters)
    entry = cache.get(key)
    if entry is None or (entry["until"] is not None and timezone.now() >= entry["until"]):
        entry = make_entry(request, dashboard, filters, build())
        if isinstance(entry, HttpResponse):
            return entry  # a refusal, never kept
        cache.set(key, entry, settings.DASHBOARD_CACHE_SECONDS)
    if entry["kind"] == "download":
        etag = etag_for(request, entry["hash"])
        if is_revalidated(request, etag):
            return private(HttpResponseNotModified(), etag)
        response = HttpResponse(entry["body"], content_type=entry["content_type"])
        response["Content-Disposition"] = entry["disposition"]
    else:
        # The header around the content, read once: it goes into the ETag, so that a 304 draws nothing.
        header = context_processors.menu(request)
        # Messages are shown once: a copy that holds them is sent without an ETag, never to be revalidated.
        etag = None if len(get_messages(request)) else etag_for(request, entry["hash"], header)
        if etag is not None and is_revalidated(request, etag):
            return private(HttpResponseNotModified(), etag)
        parts = {name: mark_safe(entry[name]) for name in PARTS}  # noqa: S308 (rendered by the templates)
        response = render(request, "implementation/dashboard.html", {"parts": parts, **header})
    return private(response, etag)


def is_revalidated(request, etag):
    """Whether the browser's copy is ``etag``: GZipMiddleware marks a compressed page's ETag weak (W/"…"), and
    that is what a browser sends back."""
    return etag in {tag.removeprefix("W/") for tag in parse_etags(request.headers.get("If-None-Match", ""))}


def private(response, etag):
    """``response`` for this reader only, to be revalidated before each use."""
    if etag is not None:
        response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ["Cookie"])
    return response


def make_entry(request, dashboard, filters, board):
    """What the cache keeps of ``board``: its parts rendered, or the download asked for; a response to refuse it."""
    available = dashboard.tables(board)
    name = request.GET.get("export")
    if name is not None:
        table = available.get(name)
        if table is None:
            raise Http404(f"This page has no table called {name!r}.")
        try:
            download = export_response(
                table, request.GET.get("format"), table.title, notes=tables.notes(filters, board)
            )
        except ValueError as error:
            return HttpResponseBadRequest(str(error))
        entry = {
            "kind": "download",
            "body": download.content,
            "hash": hashlib.sha256(download.content).hexdigest(),
            "content_type": download["Content-Type"],
            "disposition": download["Content-Disposition"],
        }
    else:
        context = {"board": board, "filters": filters, "tables": available}
        if dashboard.context is not None:
            context |= dashboard.context(board, available, request)
        entry = {"kind": "page"}
        for part in PARTS:
            entry[part] = render_to_string(dashboard.template, {**context, "part": part}, request)
        entry["hash"] = hashlib.sha256("\0".join(entry[part] for part in PARTS).encode()).hexdigest()
    # A State's profile flags ratings unconfirmed for a year: the entry ends when the next one turns.
    entry["until"] = getattr(board, "fresh_until", None)
    return entry


def cache_key(request, dashboard, filters):
    """The entry's key: address, filters, language, the reader's scope, and the data the page reads."""
    day = filters.form.cleaned_data.get("as_of")
    today = timezone.localdate()
    reader, values = scope(request.user), fingerprint()
    if day is not None and day < today:
        # The past as history keeps it: reference data and the records this page reads as they stand now.
        names = [*REFERENCE, *dashboard.reads_now]
        on = None
    else:
        names, on = [*REFERENCE, *RECORDS], today.isoformat()
    parts = [
        release(),
        request.path,
        sorted(request.GET.lists()),
        translation.get_language(),
        reader,
        on,
        [values[name] for name in names],
    ]
    return "dashboard:" + hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


@functools.cache
def release():
    """A hash of the code, templates, translations and static files this process serves, read once."""
    digest = hashlib.sha256()
    for folder in RELEASE_FOLDERS:
        for path in sorted((settings.BASE_DIR / folder).rglob("*")):
            if path.suffix in RELEASE_FILES and path.is_file():
                digest.update(str(path.relative_to(settings.BASE_DIR)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fingerprint():
    """The latest history id of each table of ``REFERENCE`` and ``RECORDS``, by name, in one query."""
    sql, sizes = fingerprint_query()
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = iter(cursor.fetchone())
    return {name: [next(row) for _ in range(size)] for name, size in sizes}


@functools.cache
def fingerprint_query():
    """The fingerprint's SQL and how many of its values each name has: written once, as the tables never change."""
    groups = {**REFERENCE, **RECORDS}
    terms = {name: [term for source in sources for term in _terms(source)] for name, sources in groups.items()}
    sql = "SELECT " + ", ".join(term for group in terms.values() for term in group)
    return sql, [(name, len(group)) for name, group in terms.items()]


def _terms(source):
    quote = connection.ops.quote_name
    if isinstance(source, tuple):
        # A many-to-many table has no history, but its rows are only ever added or removed, and ids are never
        # reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL): the latest id and the count tell every change.
        model, field = source
        table = quote(model._meta.get_field(field).remote_field.through._meta.db_table)
        return [f"(SELECT MAX(id) FROM {table})", f"(SELECT COUNT(*) FROM {table})"]
    return [f"(SELECT MAX(history_id) FROM {quote(source.history.model._meta.db_table)})"]


def scope(user):
    """
    What the reader may read, hashed: the States they read in full (those they report for marked), their
    role kinds and whether they read everything. Readers with the same scope see the same pages.
    """
    reports = Role.objects.current().filter(user=user, kind=Role.Kind.FOCAL_POINT, state=OuterRef("pk"))
    states = MemberState.objects.visible_to(user).annotate(reports=Exists(reports)).order_by("pk")
    described = [list(states.values_list("pk", "reports")), sorted(role_kinds(user)), is_analyst(user)]
    return hashlib.sha256(json.dumps(described).encode()).hexdigest()


def etag_for(request, digest, header=None):
    """
    The ETag of what this reader is sent: ``digest`` (the hash of the content or download), what the site header
    shows them (``header``: the menu of ``context_processors.menu``, with their name and staff link), their CSRF
    cookie (the header's forms carry a token from it; a new sign-in gives a new one) and the language. Data hidden
    from the reader never changes it: it never changes what they see.
    """
    user = request.user
    shown = None
    if header is not None:
        own, review = header["nav_own_state"], header["nav_review"]
        shown = [
            [(region.slug, region.name) for region in header["nav_regions"]],
            own and (own.iso3, own.name),
            review and review["pending"],
            user.get_username(),
            user.is_staff,
        ]
    get_token(request)  # the CSRF cookie's secret, made now on a first visit as the page's forms would make it
    mixed = [digest, user.pk, shown, request.META.get("CSRF_COOKIE", ""), translation.get_language()]
    return quote_etag(hashlib.sha256(json.dumps(mixed).encode()).hexdigest()[:32])
