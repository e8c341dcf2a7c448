from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, ExpressionWrapper, Q
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.languages import other_language_columns

# The label of every field that names a Member State; "state" alone is ambiguous to translate.
STATE_LABEL = pgettext_lazy("a UN Member State", "state")


class MemberStateQuerySet(models.QuerySet):
    def visible_to(self, user):
        """
        The States whose records ``user`` may read, the one access rule that every other ``visible_to``
        narrows to: analysts every State, coordinators their regions', focal points their own.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        roles = Role.objects.filter(user=user).current()
        return self.filter(
            Q(Exists(roles.filter(kind=Role.Kind.ANALYST)))
            | Q(pk__in=roles.filter(kind=Role.Kind.FOCAL_POINT).values("state"))
            | Q(
                pk__in=RegionMembership.objects.current()
                .filter(region__in=roles.filter(kind=Role.Kind.COORDINATOR).values("region"))
                .values("state")
            )
        )

    def in_region(self, region, on=None):
        """The States that belong to ``region`` on date ``on`` (today by default)."""
        return self.filter(pk__in=RegionMembership.objects.current(on).filter(region=region).values("state"))


class MemberState(models.Model):
    """A United Nations Member State, with its ISO 3166 and M49 codes."""

    iso3 = models.CharField(_("ISO alpha-3"), max_length=3, unique=True)
    iso2 = models.CharField(_("ISO alpha-2"), max_length=2, unique=True)
    m49 = models.CharField(
        _("M49 code"), max_length=3, unique=True, help_text=_("Three digits, e.g. 388 for Jamaica.")
    )
    name = models.CharField(_("short name"), max_length=100, unique=True)
    m49_region = models.CharField(_("M49 region"), max_length=50)
    m49_subregion = models.CharField(_("M49 sub-region"), max_length=50)

    objects = MemberStateQuerySet.as_manager()
    # The dashboards' cache keys on each table's latest history row (implementation/caching.py).
    history = HistoricalRecords(excluded_fields=other_language_columns("name"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("Member State")
        verbose_name_plural = _("Member States")
        constraints = [
            models.CheckConstraint(
                condition=Q(iso3__regex=r"^[A-Z]{3}$"),
                name="memberstate_iso3_format",
                violation_error_message=_("The ISO alpha-3 code is three capital letters, e.g. JAM."),
            ),
            models.CheckConstraint(
                condition=Q(iso2__regex=r"^[A-Z]{2}$"),
                name="memberstate_iso2_format",
                violation_error_message=_("The ISO alpha-2 code is two capital letters, e.g. JM."),
            ),
            models.CheckConstraint(
                condition=Q(m49__regex=r"^[0-9]{3}$"),
                name="memberstate_m49_format",
                violation_error_message=_("The M49 code is three digits, e.g. 388."),
            ),
        ]

    def __str__(self):
        return self.name


class Region(models.Model):
    """A grouping of Member States that dashboards report on, such as a workshop region."""

    class Kind(models.TextChoices):
        WORKSHOP = "workshop", _("Workshop region")
        ORGANISATION = "organisation", _("Regional organisation")
        GEOGRAPHIC = "geographic", _("Geographic (M49)")
        CUSTOM = "custom", _("Custom grouping")

    slug = models.SlugField(
        _("short name in addresses"),
        unique=True,
        help_text=_("Used in addresses, e.g. caribbean for /regions/caribbean/."),
    )
    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.CUSTOM)
    description = models.TextField(
        _("description"), blank=True, help_text=_("How the grouping is defined and where that comes from.")
    )
    member_states = models.ManyToManyField(
        MemberState, through="RegionMembership", related_name="regions", verbose_name=_("Member States")
    )

    history = HistoricalRecords(excluded_fields=other_language_columns("name"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self):
        return self.name


class RegionMembershipQuerySet(models.QuerySet):
    def current(self, on=None):
        """Memberships in force on date ``on`` (today by default)."""
        on = on or timezone.localdate()
        return self.filter(Q(joined_on__isnull=True) | Q(joined_on__lte=on)).filter(
            Q(left_on__isnull=True) | Q(left_on__gt=on)
        )


class RegionMembership(models.Model):
    """A State's membership of a region, dated because States join and leave groupings."""

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("region"))
    state = models.ForeignKey(
        MemberState, on_delete=models.CASCADE, related_name="region_memberships", verbose_name=STATE_LABEL
    )
    joined_on = models.DateField(
        _("joined on"), null=True, blank=True, help_text=_("Leave empty if the State has always belonged.")
    )
    left_on = models.DateField(
        _("left on"),
        null=True,
        blank=True,
        help_text=_("The first day the State no longer belongs. Leave empty while it belongs."),
    )

    objects = RegionMembershipQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["region", "state"]
        verbose_name = _("region membership")
        verbose_name_plural = _("region memberships")
        constraints = [
            models.CheckConstraint(
                condition=Q(joined_on__isnull=True) | Q(left_on__isnull=True) | Q(left_on__gt=models.F("joined_on")),
                name="regionmembership_leaves_after_joining",
                violation_error_message=_("A State must leave a region after the day it joined."),
            ),
            models.UniqueConstraint(
                fields=["region", "state"],
                condition=Q(left_on__isnull=True),
                name="regionmembership_one_open_membership",
                violation_error_message=_("This State is already a member of this region."),
            ),
        ]

    def __str__(self):
        return gettext("%(state)s in %(region)s") % {"state": self.state, "region": self.region}


class Workshop(models.Model):
    """A regional workshop on the Technical Guidelines, held or planned."""

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        VIRTUAL = "virtual", _("Virtual")
        HYBRID = "hybrid", _("Hybrid")

    class Status(models.TextChoices):
        PLANNED = "planned", pgettext_lazy("workshop", "Planned")
        HELD = "held", pgettext_lazy("workshop", "Held")
        CANCELLED = "cancelled", pgettext_lazy("workshop", "Cancelled")

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="workshops", verbose_name=_("region"))
    title = models.CharField(_("title"), max_length=200)
    starts_on = models.DateField(
        _("starts on"), help_text=_("First day; for a month known only roughly, its first day.")
    )
    ends_on = models.DateField(_("ends on"), null=True, blank=True, help_text=_("Last day, if known."))
    dates_approximate = models.BooleanField(
        _("dates approximate"),
        default=False,
        help_text=_("Tick when only the month or season is known (e.g. 'mid-2023')."),
    )
    mode = models.CharField(_("mode"), max_length=20, choices=Mode, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.PLANNED)
    source = models.CharField(
        _("source"), max_length=300, blank=True, help_text=_("Where the date comes from, e.g. a CTED page.")
    )

    # The dashboards' cache keys on each table's latest history row (implementation/caching.py).
    history = HistoricalRecords(excluded_fields=other_language_columns("title"))

    class Meta:
        ordering = ["starts_on"]
        verbose_name = _("workshop")
        verbose_name_plural = _("workshops")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="workshop_ends_after_start",
                violation_error_message=_("A workshop cannot end before it starts."),
            ),
        ]

    def __str__(self):
        return self.title


def _in_force_on(on):
    on = on or timezone.localdate()
    return Q(is_active=True, starts_on__lte=on) & (Q(ends_on__isnull=True) | Q(ends_on__gt=on))


class RoleQuerySet(models.QuerySet):
    def current(self, on=None):
        """
        Roles in force on ``on`` (today by default): active, started and not ended (``ends_on`` is the first
        day off). Every check of a role goes through here.
        """
        return self.filter(_in_force_on(on))

    def with_in_force(self, on=None):
        """Annotate ``in_force``: whether each role is in force on ``on`` (today by default), as ``current()`` says."""
        return self.annotate(in_force=ExpressionWrapper(_in_force_on(on), output_field=models.BooleanField()))

    def overlapping(self, starts_on, ends_on):
        """Active roles in force on at least one day from ``starts_on`` to the day before ``ends_on`` (or no end)."""
        roles = self.filter(is_active=True).filter(Q(ends_on__isnull=True) | Q(ends_on__gt=starts_on))
        return roles if ends_on is None else roles.filter(starts_on__lt=ends_on)


class Role(models.Model):
    """What a user does in the tracker: CTED analyst, coordinator of a region, or focal point for a State."""

    class Kind(models.TextChoices):
        ANALYST = "analyst", _("CTED analyst")
        COORDINATOR = "coordinator", _("Regional coordinator")
        FOCAL_POINT = "focal_point", _("Focal point")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tracker_roles", verbose_name=_("user")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    state = models.ForeignKey(
        MemberState,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="focal_points",
        verbose_name=STATE_LABEL,
        help_text=_("For a focal point only: the State they report for."),
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="coordinators",
        verbose_name=_("region"),
        help_text=_("For a coordinator only: the region they follow. Add one role per region."),
    )
    is_alternate = models.BooleanField(
        _("alternate focal point"),
        default=False,
        help_text=_("For a focal point: tick for the alternate, leave for the main."),
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_(
            "Untick when the person leaves; the role is kept so that their past work stays attributed. "
            "A role grants access only while it is active and between its dates."
        ),
    )
    starts_on = models.DateField(
        _("starts on"),
        default=timezone.localdate,
        help_text=_("The first day the role applies; before it, the role grants nothing."),
    )
    ends_on = models.DateField(
        _("ends on"),
        null=True,
        blank=True,
        help_text=_(
            "The first day the role no longer applies: the person has access up to the day before. "
            "Leave empty while the role lasts."
        ),
    )

    objects = RoleQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["user__username", "kind"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="analyst", state__isnull=True, region__isnull=True)
                    | Q(kind="coordinator", state__isnull=True, region__isnull=False)
                    | Q(kind="focal_point", state__isnull=False, region__isnull=True)
                ),
                name="role_scope_matches_kind",
                violation_error_message=_(
                    "A focal point needs a State and no region, a coordinator a region and no State, "
                    "and an analyst neither."
                ),
            ),
            models.CheckConstraint(
                condition=Q(kind="focal_point") | Q(is_alternate=False),
                name="role_only_focal_points_are_alternates",
                violation_error_message=_("Only a focal point can be an alternate."),
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gt=models.F("starts_on")),
                name="role_ends_after_start",
                violation_error_message=_(
                    "A role must end after the day it starts: its end date is the first day it no longer applies."
                ),
            ),
            # Between roles with no end date; a leaver's dated role may sit beside its successor's (see clean()).
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(kind="focal_point", is_active=True, ends_on__isnull=True),
                name="role_one_state_per_focal_point",
                violation_error_message=_("This person is already an active focal point for a State."),
            ),
            models.UniqueConstraint(
                fields=["state"],
                condition=Q(kind="focal_point", is_active=True, is_alternate=False, ends_on__isnull=True),
                name="role_one_main_focal_point_per_state",
                violation_error_message=_(
                    "This State already has an active main focal point; deactivate them or give their role "
                    "an end date first."
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "region"],
                condition=Q(kind="coordinator", is_active=True, ends_on__isnull=True),
                name="role_coordinates_region_once",
                violation_error_message=_("This person already coordinates this region."),
            ),
        ]

    def __str__(self):
        if self.kind == self.Kind.FOCAL_POINT:
            if self.is_alternate:
                return gettext("%(user)s — alternate focal point for %(state)s") % {
                    "user": self.user,
                    "state": self.state,
                }
            return gettext("%(user)s — main focal point for %(state)s") % {"user": self.user, "state": self.state}
        if self.kind == self.Kind.COORDINATOR:
            return gettext("%(user)s — coordinator for %(region)s") % {"user": self.user, "region": self.region}
        return gettext("%(user)s — %(role)s") % {"user": self.user, "role": self.get_kind_display()}

    def clean(self):
        super().clean()
        # An unticked role sits beside anything; bad dates are role_ends_after_start's to refuse.
        if not self.is_active or self.starts_on is None or (self.ends_on and self.ends_on <= self.starts_on):
            return
        others = Role.objects.exclude(pk=self.pk).filter(kind=self.kind).overlapping(self.starts_on, self.ends_on)
        if self.ends_on is None:
            # Two roles without an end date are the database constraints' to refuse.
            others = others.exclude(ends_on__isnull=True)
        rules = []
        if self.kind == self.Kind.FOCAL_POINT:
            rules.append(
                (
                    Q(user=self.user_id),
                    gettext("This person is already a focal point during these dates: %(role)s, %(period)s."),
                )
            )
            if not self.is_alternate:
                rules.append(
                    (
                        Q(state=self.state_id, is_alternate=False),
                        gettext("This State already has a main focal point during these dates: %(role)s, %(period)s."),
                    )
                )
        elif self.kind == self.Kind.COORDINATOR:
            rules.append(
                (
                    Q(user=self.user_id, region=self.region_id),
                    gettext("This person already coordinates this region during these dates: %(role)s, %(period)s."),
                )
            )
        errors = []
        for condition, message in rules:
            clash = others.filter(condition).select_related("user", "state", "region").first()
            if clash is not None:
                errors.append(ValidationError(message % {"role": clash, "period": clash.period()}))
        if errors:
            raise ValidationError(errors)

    def period(self):
        """The role's dates in words, e.g. "from 01 Mar 2024, ending on 01 Nov 2026" (the end is its first day off)."""
        starts = formats.date_format(self.starts_on, "d M Y")
        if self.ends_on is None:
            return gettext("from %(starts)s, with no end date") % {"starts": starts}
        return gettext("from %(starts)s, ending on %(ends)s") % {
            "starts": starts,
            "ends": formats.date_format(self.ends_on, "d M Y"),
        }

    def hand_over_to(self, successor, on=None):
        """
        End this focal point's role on ``on`` (today by default) and give the same role to ``successor`` from
        that day; what the leaver did stays attributed to them. Returns the successor's role; raises
        ``ValidationError`` when the hand-over is not possible.
        """
        if self.kind != self.Kind.FOCAL_POINT or not self.is_active:
            raise ValidationError(gettext("Only an active focal point's role can be handed over."))
        if successor.pk == self.user_id:
            raise ValidationError(gettext("Choose someone else: the successor is the person leaving."))
        on = on or timezone.localdate()
        if on <= self.starts_on:
            raise ValidationError(
                gettext("Choose a day after %(date)s, the first day of the role being handed over.")
                % {"date": formats.date_format(self.starts_on, "d M Y")}
            )
        if self.ends_on is not None and self.ends_on < on:
            raise ValidationError(
                gettext("This role already ends on %(date)s, before that day; give the successor a role of their own.")
                % {"date": formats.date_format(self.ends_on, "d M Y")}
            )
        with transaction.atomic():
            self.ends_on = on
            # Unticked once it has ended; a role that ends later stays active until then.
            self.is_active = on > timezone.localdate()
            self.save(update_fields=["is_active", "ends_on"])
            successor_role = Role(
                user=successor, kind=self.kind, state=self.state, is_alternate=self.is_alternate, starts_on=on
            )
            successor_role.full_clean()
            successor_role.save()
        return successor_role


def role_kinds(user):
    """The set of ``Role.Kind`` values ``user`` holds in force today; one query, then cached on the user."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if not hasattr(user, "_tracker_role_kinds"):
        user._tracker_role_kinds = frozenset(Role.objects.filter(user=user).current().values_list("kind", flat=True))
    return user._tracker_role_kinds


def is_analyst(user):
    """Analysts and administrators read and write every State."""
    return user.is_authenticated and user.is_active and (user.is_superuser or Role.Kind.ANALYST in role_kinds(user))


def can_read_aggregates(user):
    """Whether ``user`` may see totals over States, hidden ones included, unless ``withholds_total`` says not."""
    return is_analyst(user) or bool(role_kinds(user))


# With fewer hidden States in a total, a reader who knows the others' ratings could subtract them and read one or two.
MIN_HIDDEN_STATES_IN_TOTAL = 3


def withholds_total(*, hidden_in_scope, hidden_counted):
    """
    Whether a figure summed over States must be withheld from a reader. ``hidden_in_scope`` counts the States
    hidden from them in the figure's scope (its region on the day, narrowed by filters that name only States they
    may read); ``hidden_counted`` those of them rated before any status filter, so that no filter can turn the
    notice into an answer about one State. What remains possible by design is explained on /help/.
    """
    return hidden_in_scope > 0 and hidden_counted < MIN_HIDDEN_STATES_IN_TOTAL
