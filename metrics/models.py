"""Monthly rollups of the dashboard figures (metrics.md), and the managers' targets."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ScopeKind(models.TextChoices):
    PRACTICE = "practice", _("Whole practice")
    LOCATION = "location", _("Location")
    PROVIDER = "provider", _("Provider")


class MonthlyRollup(models.Model):
    """Every figure of metrics.md for one month and one scope.

    A month is recomputed whole, in one transaction, so re-running gives the
    same rows. `figures` holds the snake_case keys of architecture.md; a
    figure without data is null.
    """

    month = models.DateField(_("month"))  # the first day of the month, practice time
    scope_kind = models.CharField(_("scope"), max_length=16, choices=ScopeKind.choices)
    scope_id = models.PositiveIntegerField(_("location or provider"), default=0)
    figures = models.JSONField(_("figures"), default=dict)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        ordering = ["-month", "scope_kind", "scope_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "scope_kind", "scope_id"], name="one_rollup_per_month_and_scope"
            )
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.scope_kind} {self.scope_id}"


class FunnelBy(models.TextChoices):
    """How the enrollment funnel is broken down (metrics.funnel)."""

    PRACTICE = "practice", _("Whole practice")
    LOCATION = "location", _("Location")
    PROVIDER = "provider", _("Provider")
    STAFF = "staff", _("Staff member who made the offer")


class FunnelRollup(models.Model):
    """The enrollment funnel of one monthly cohort (the patients first offered the portal
    in `cohort`, metrics.offers) for the practice or one group of a breakdown.

    `group_id` is the location's, the provider's or the staff member's id; 0 for the
    practice, and for the patients with no location or provider, or whose first offer
    names nobody (an invitation from the feed). `counts` holds each step's patients
    (metrics.funnel.selectors.STEPS) and `due_90` (the multi-feature users whose day
    90 had passed at `computed_at`). Counts only: no patient data. A cohort is
    replaced whole, in one transaction (metrics.funnel.services).
    """

    cohort = models.DateField(_("cohort"))  # the first day of the month, practice time
    by = models.CharField(_("breakdown"), max_length=16, choices=FunnelBy.choices)
    group_id = models.PositiveIntegerField(_("location, provider or staff member"), default=0)
    counts = models.JSONField(_("counts"), default=dict)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        ordering = ["-cohort", "by", "group_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "by", "group_id"], name="one_funnel_rollup_per_cohort_and_group"
            )
        ]

    def __str__(self):
        return f"{self.cohort:%Y-%m} {self.by} {self.group_id}"


class StaleMonth(models.Model):
    """A month whose events changed after it was rolled up (late imports)."""

    month = models.DateField(_("month"), unique=True)
    marked_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.month:%Y-%m}"


class RollupCheckpoint(models.Model):
    """How far the last full look at the changes went (metrics.services).

    `taken_at` is when a rollup run that marks every change (the nightly
    set, `--month`) or recomputes every month (`--all`) started; what was
    recorded before it is in the rollups or marked stale. The two counts are
    of what was visible then in the hour before it (LATE_MARGIN): the events
    recorded, and a digest of the roster rows changed. If they are the same
    the next night, no import that was still open at `taken_at` has landed
    since, and the next look starts at `taken_at` rather than an hour before
    it. One row.
    """

    taken_at = models.DateTimeField(_("taken at"))
    events_in_margin = models.PositiveBigIntegerField(_("events recorded in the hour before"))
    roster_in_margin = models.CharField(_("roster changes in the hour before"), max_length=64)

    def __str__(self):
        return f"{self.taken_at:%Y-%m-%d %H:%M:%S}"


class Target(models.Model):
    """A manager's target for one figure (defaults from metrics.md)."""

    figure = models.CharField(_("figure"), max_length=40, unique=True)
    value = models.DecimalField(_("target"), max_digits=10, decimal_places=4)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["figure"]
        permissions = [("view_dashboard", _("Can see the monthly dashboard"))]

    def __str__(self):
        return f"{self.figure}: {self.value}"


class MonthlyReportDelivery(models.Model):
    """The monthly email's claim: one row per month, so the email goes out at most once.

    A table rather than the cache: the claim must hold when Redis is down or
    restarted, and the unique month makes a second delivery of the task (a
    retry, a second beat) find it. A row without `sent_at` is a send that was
    interrupted after the claim; it is not retried, since nobody can know
    whether the managers got it (delete the row to send again).
    """

    month = models.DateField(_("month"), unique=True)
    claimed_at = models.DateTimeField(_("claimed"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)

    class Meta:
        ordering = ["-month"]

    def __str__(self):
        return f"{self.month:%Y-%m} report"


class DrawingKind(models.TextChoices):
    PDF = "pdf", _("Monthly PDF")
    CHART = "chart", _("Trend chart")


class StoredDrawing(models.Model):
    """The monthly PDF or one trend chart (SVG), drawn once and served from here.

    One row per month, scope, language and drawing (metrics.drawings): drawing
    takes matplotlib seconds, serving a row milliseconds. `version` is the
    digest of everything the drawing shows (the rollups of its twelve months,
    the targets, the published changes, the scope's name...): when a re-rollup
    changes it, the next request or the rollup itself draws again and
    replaces `content`. `claim_version` and `claimed_at` are the claim of the
    one worker drawing it now, so the others wait for it instead of all
    running matplotlib at once. A table, not the cache: the claim must hold
    across workers with Redis down. Aggregates only, never patient data.
    """

    kind = models.CharField(_("drawing"), max_length=8, choices=DrawingKind.choices)
    figure = models.CharField(_("figure"), max_length=40, blank=True)  # "" for the PDF
    month = models.DateField(_("month"))
    scope_kind = models.CharField(_("scope"), max_length=16, choices=ScopeKind.choices)
    scope_id = models.PositiveIntegerField(_("location or provider"), default=0)
    language = models.CharField(_("language"), max_length=16)
    version = models.CharField(_("version drawn"), max_length=64, blank=True)
    content = models.BinaryField(_("content"), default=b"")
    drawn_at = models.DateTimeField(_("drawn"), null=True, blank=True)
    claim_version = models.CharField(_("version being drawn"), max_length=64, blank=True)
    claimed_at = models.DateTimeField(_("drawing started"), null=True, blank=True)

    class Meta:
        ordering = ["-month", "kind", "figure"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "figure", "month", "scope_kind", "scope_id", "language"],
                name="one_stored_drawing_per_month_scope_and_language",
            )
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.scope_kind} {self.scope_id} {self.kind} {self.figure}"
