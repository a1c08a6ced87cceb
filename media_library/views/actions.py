"""The bulk action bar: a confirmation with the exact count, then one job and its card.

Both steps are POSTs (a selection never travels in a URL) and resolve the selection on the
server from (ids | folder + filter | trash), see media_library.selection.
"""

from dataclasses import asdict, dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from media_library.bulk_actions import get_action, resolve_selection, submit_bulk_action
from media_library.listing import folder_choices, normalise_query
from media_library.selection import SelectionError, SelectionNotFound

DEFAULT_PATTERN = "{name}-{n:03}{ext}"


@dataclass(frozen=True)
class SelectionForm:
    """The fields the action bar posts, echoed back as hidden inputs by the confirmation."""

    action: str
    scope: str  # "ids" or "all"
    file_ids: str  # "1,2,3": one field, whatever the size of the selection
    folder_id: str  # "" is the library root
    q: str
    sort: str
    in_trash: str  # "1" in the Trash view

    @classmethod
    def from_post(cls, data):
        return cls(
            action=data.get("action", ""),
            scope="all" if data.get("scope") == "all" else "ids",
            file_ids=data.get("file_ids", "")[:200_000],
            folder_id=data.get("folder_id", ""),
            q=normalise_query(data.get("q")),
            sort=data.get("sort", "name")[:20],
            in_trash="1" if data.get("in_trash") == "1" else "",
        )

    def folder_pk(self):
        if not self.folder_id:
            return None
        try:
            return int(self.folder_id)
        except ValueError:
            raise Http404("No such folder.") from None


def render_job_card(job):
    """The jobs engine's card, as the main content of the response (so not out-of-band)."""
    from jobs.progress import render_card  # the jobs engine (issue 4)

    return mark_safe(render_card(job, oob=False))  # noqa: S308 -- rendered with autoescape, not user input


def confirm_context(request, form, *, error="", target_folder_id="", pattern=DEFAULT_PATTERN):
    spec = get_action(form.action)
    files = resolve_selection(
        request.user.pk, spec, scope=form.scope, file_ids=form.file_ids, folder_id=form.folder_pk(),
        q=form.q, sort=form.sort,
    )  # fmt: skip
    count = files.count()
    return {
        "spec": spec,
        "count": count,
        "question": spec.describe(count),
        "form": asdict(form),
        "folders": folder_choices(request.user.pk) if spec.needs_target else [],
        "target_folder_id": str(target_folder_id or ""),
        "pattern": pattern,
        "error": error
        or ("" if count else ("The trash is empty." if spec.whole_trash else "No files selected.")),
    }


def error_dialog(request, message, status=422):
    response = render(request, "media_library/_dialog_error.html", {"error": message}, status=status)
    response["HX-Retarget"] = "#dialog-slot"
    response["HX-Reswap"] = "innerHTML"
    return response


@login_required
@require_POST
def confirm_action(request):
    form = SelectionForm.from_post(request.POST)
    try:
        context = confirm_context(request, form)
    except SelectionNotFound:
        raise Http404("No such folder.") from None
    except SelectionError as exc:
        return error_dialog(request, str(exc))
    return render(request, "media_library/_confirm_action.html", context)


@login_required
@require_POST
def submit_action(request):
    form = SelectionForm.from_post(request.POST)
    target = request.POST.get("target_folder_id", "")
    pattern = request.POST.get("pattern", "")
    try:
        job, count = submit_bulk_action(
            request.user, form.action, scope=form.scope, file_ids=form.file_ids, folder_id=form.folder_pk(),
            q=form.q, sort=form.sort, target_folder_id=target or None, pattern=pattern,
        )  # fmt: skip
    except SelectionNotFound:
        raise Http404("No such folder.") from None
    except SelectionError as exc:
        try:
            context = confirm_context(request, form, error=str(exc), target_folder_id=target, pattern=pattern)
        except SelectionError as again:
            return error_dialog(request, str(again))
        response = render(request, "media_library/_confirm_action.html", context, status=422)
        response["HX-Retarget"] = "#dialog-slot"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(
        request,
        "media_library/_job_submitted.html",
        {"card": render_job_card(job), "count": count, "spec": get_action(form.action)},
        status=202,
    )
