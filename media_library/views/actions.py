"""The bulk action bar: a confirmation with the exact count, then one job and its card.

Both steps are POSTs (a selection never travels in a URL). The submit is the API's submit
(media_library.actions.submit_action); the selection is resolved on the server from (ticked ids
| folder + filter | trash), see media_library.actions.selection.
"""

from dataclasses import asdict, dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from jobs.progress import render_card
from media_library.actions import Scope, SelectionError, SelectionNotFound, get_action, submit_action
from media_library.actions.selection import MAX_TICKED_IDS, Selection, nothing_to_do
from media_library.listing import normalise_query


@dataclass(frozen=True)
class SelectionForm:
    """The fields the action bar posts, echoed back as hidden inputs by the confirmation."""

    action: str
    scope: str  # "ids", "all" or "tree" (see selection.Scope)
    file_ids: str  # "1,2,3": one field, whatever the size of the selection
    folder_id: str  # "" is the library root
    q: str
    sort: str
    in_trash: str  # "1" in the Trash view

    @classmethod
    def from_post(cls, data):
        return cls(
            action=data.get("action", ""),
            scope=posted_scope(data),
            file_ids=data.get("file_ids", ""),
            folder_id=data.get("folder_id", ""),
            q=normalise_query(data.get("q")),
            sort=data.get("sort", "name")[:20],
            in_trash="1" if data.get("in_trash") == "1" else "",
        )


def posted_scope(data):
    """The scope a page posted; anything else (or none) means the ticked ids."""
    scope = data.get("scope")
    return scope if scope in (Scope.FOLDER, Scope.TREE) else Scope.IDS


def posted_fields(post):
    """The action bar's POST as the fields submit_action reads (it builds the Selection)."""
    fields = post.dict()
    fields["scope"] = posted_scope(post)
    return fields


def render_job_card(job):
    """The jobs engine's card, as the main content of the response (so not out-of-band)."""
    return mark_safe(render_card(job, oob=False))  # noqa: S308 -- rendered with autoescape, not user input


def confirm_context(request, form, *, error="", params=None):
    action = get_action(form.action)
    files = Selection.build(request.user.pk, action, asdict(form), max_ticked=MAX_TICKED_IDS).files
    count = files.count()
    return {
        "action": action,
        "count": count,
        "question": action.confirm_text(count),
        "form": asdict(form),
        **action.params_context(request.user.pk),
        **(params or {}),
        "error": error or ("" if count else nothing_to_do(action)),
    }


def dialog(response):
    """Errors replace the dialog slot, whatever the form aimed at."""
    response["HX-Retarget"] = "#dialog-slot"
    response["HX-Reswap"] = "innerHTML"
    return response


def error_dialog(request, message, status=422):
    return dialog(render(request, "media_library/_dialog_error.html", {"error": message}, status=status))


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
def submit_action_view(request):
    try:
        job, _count = submit_action(
            request.user,
            request.POST.get("action"),
            posted_fields(request.POST),
            max_ticked=MAX_TICKED_IDS,
        )
    except SelectionNotFound:
        raise Http404("No such folder.") from None
    except SelectionError as exc:
        form = SelectionForm.from_post(request.POST)
        echoed = {key: request.POST.get(key, "") for key in ("target_folder_id", "pattern")}
        try:
            context = confirm_context(request, form, error=str(exc), params=echoed)
        except SelectionError as again:
            return error_dialog(request, str(again))
        return dialog(render(request, "media_library/_confirm_action.html", context, status=422))
    return render(request, "media_library/_job_submitted.html", {"card": render_job_card(job)}, status=202)
