"""Job pages: history, detail, and the Cancel/Retry buttons. Another user's job is a 404."""

import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from jobs import selectors, services
from jobs.models import Job
from jobs.registry import all_kinds, label_of
from jobs.selectors import with_labels


def _from_htmx(request):
    """htmx asked (its own header): no middleware needed, so any project can mount these views."""
    return request.headers.get("HX-Request") == "true"


def _owned_or_404(job_id, user):
    try:
        return services.owned_job(job_id, user)
    except Job.DoesNotExist:
        raise Http404("No such job") from None


@login_required
def job_list(request):
    status = request.GET.get("status") or None
    if status not in Job.Status.values:
        status = None
    kind = request.GET.get("kind") or None
    before = None
    cursor = request.GET.get("before")
    if cursor:
        try:
            before = selectors.jobs_of(request.user).filter(pk=uuid.UUID(cursor)).first()
        except ValueError:
            before = None
    jobs, more = selectors.job_history(request.user, status=status, kind=kind, before=before)
    context = {
        "jobs": with_labels(jobs),
        "next_cursor": jobs[-1].pk if more else None,
        "status": status or "",
        "kind": kind or "",
        "statuses": Job.Status.choices,
        "kinds": sorted(all_kinds(), key=lambda k: k.label),
    }
    return render(request, "jobs/job_list.html", context)


@login_required
def job_detail(request, job_id):
    job = _owned_or_404(job_id, request.user)
    context = {
        "job": job,
        "label": label_of(job.kind),
        "chunks": list(selectors.chunks_of(job)),
        "failures": list(selectors.failures_of(job)),
    }
    return render(request, "jobs/job_detail.html", context)


@login_required
@require_POST
def cancel(request, job_id):
    job = _owned_or_404(job_id, request.user)
    services.cancel_job(job, request.user)
    if _from_htmx(request):
        return HttpResponse(status=204)  # the new card arrives over the websocket
    return redirect(job)


@login_required
@require_POST
def retry(request, job_id):
    job = _owned_or_404(job_id, request.user)
    try:
        new_job = services.retry_failed(job, request.user)
    except (ValueError, LookupError) as exc:  # nothing to retry, a retry running, an unknown kind
        return HttpResponse(str(exc), status=409, content_type="text/plain")
    if _from_htmx(request):
        return HttpResponse(status=204)  # the new job's card arrives over the websocket
    return redirect(new_job)
