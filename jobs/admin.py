from django.contrib import admin, messages
from django.utils.html import format_html

from jobs import services
from jobs.models import Job, JobChunk, JobFailure


class JobChunkInline(admin.TabularInline):
    model = JobChunk
    fields = (
        "index",
        "status",
        "size",
        "done",
        "failed",
        "attempt",
        "retries",
        "deliveries",
        "worker",
        "lease_until",
        "finished",
        "error",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).defer("ids")


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "kind",
        "owner",
        "status",
        "done",
        "failed",
        "total",
        "queue",
        "created",
        "finished",
    )
    list_filter = ("status", "kind", "queue", "created")
    search_fields = ("id", "kind", "owner__username", "error")
    readonly_fields = (
        "id", "owner", "kind", "params", "status", "total", "done", "failed", "chunk_size", "chunk_count",
        "queue", "priority", "error", "retry_of", "created", "run_after", "dispatched", "started", "finished",
        "failures_link",
    )  # fmt: skip
    inlines = [JobChunkInline]
    actions = ["cancel_jobs", "retry_failed_items"]
    list_select_related = ("owner",)
    date_hierarchy = "created"

    @admin.display(description="Failures")
    def failures_link(self, job):
        return format_html(
            '<a href="../../jobfailure/?job__id__exact={}">{} failed item(s)</a>', job.pk, job.failed
        )

    @admin.action(description="Cancel selected jobs")
    def cancel_jobs(self, request, queryset):
        count = sum(services.cancel_job(job) for job in queryset.filter(status__in=Job.ACTIVE))
        self.message_user(request, f"Cancelled {count} job(s).", messages.SUCCESS)

    @admin.action(description="Retry failed items of selected jobs")
    def retry_failed_items(self, request, queryset):
        created = running = 0
        for job in queryset.filter(status__in=Job.FINISHED, failed__gt=0):
            try:
                services.retry_failed(job)
            except services.RetryInFlight:
                running += 1
                continue
            created += 1
        self.message_user(request, f"Started {created} retry job(s).", messages.SUCCESS)
        if running:
            self.message_user(request, f"{running} job(s) already have a retry running.", messages.WARNING)

    def has_add_permission(self, request):
        return False


@admin.register(JobFailure)
class JobFailureAdmin(admin.ModelAdmin):
    list_display = ("job", "chunk_index", "item_id", "reason")
    list_filter = ("job__kind",)
    search_fields = ("=job__id", "=item_id", "reason")
    raw_id_fields = ("job",)
    list_select_related = ("job",)

    def has_add_permission(self, request):
        return False
