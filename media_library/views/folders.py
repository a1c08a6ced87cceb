"""Folder forms: new, rename, move, trash. GET renders the dialog, POST changes the folder.

The changes themselves are media_library.folders' (the domain's); these views only validate the
form, check ownership (another user's folder is a 404) and send the browser to the right page.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from media_library import folders
from media_library.folders import owned_folder
from media_library.listing import folder_choices
from media_library.models import MediaFile
from media_library.naming import safe_display_name

# What the folder services may answer with: shown to the user in the dialog, never a 500.
FOLDER_ERRORS = (ValidationError, IntegrityError, folders.FolderError)


def folder_url(folder_or_id):
    folder_id = getattr(folder_or_id, "pk", folder_or_id)
    if folder_id is None:
        return reverse("media_library:library")
    return reverse("media_library:folder", args=[folder_id])


def go_to(request, url):
    """htmx follows HX-Redirect (the tree and breadcrumb change); plain forms get a 303."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url, status=303)


def message_of(exc):
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, IntegrityError):
        return "A folder with that name already exists here."
    return str(exc) or "That did not work."


def folder_dialog(request, template, context, status=200):
    response = render(request, template, context, status=status)
    if status != 200:
        response["HX-Retarget"] = "#dialog-slot"
        response["HX-Reswap"] = "innerHTML"
    return response


def read_name(request):
    raw = request.POST.get("name", "")
    if not raw.strip():
        raise ValidationError("Enter a folder name.")
    return safe_display_name(raw)


@login_required
@require_http_methods(["GET", "POST"])
def new_folder(request):
    source = request.POST if request.method == "POST" else request.GET
    parent = owned_folder(request.user.pk, source.get("parent"))  # another user's folder: 404
    context = {"mode": "new", "parent": parent, "name": source.get("name", "")}
    if request.method == "GET":
        return folder_dialog(request, "media_library/_folder_form.html", context)
    try:
        folder = folders.create_folder(request.user.pk, parent.pk if parent else None, read_name(request))
    except FOLDER_ERRORS as exc:
        return folder_dialog(
            request, "media_library/_folder_form.html", {**context, "error": message_of(exc)}, 422
        )
    return go_to(request, folder_url(folder))


@login_required
@require_http_methods(["GET", "POST"])
def rename_folder(request, folder_id):
    folder = owned_folder(request.user.pk, folder_id)
    context = {"mode": "rename", "folder": folder, "name": request.POST.get("name", folder.name)}
    if request.method == "GET":
        return folder_dialog(request, "media_library/_folder_form.html", context)
    try:
        folders.rename_folder(request.user.pk, folder.pk, read_name(request))
    except FOLDER_ERRORS as exc:
        return folder_dialog(
            request, "media_library/_folder_form.html", {**context, "error": message_of(exc)}, 422
        )
    return go_to(request, folder_url(folder))


@login_required
@require_http_methods(["GET", "POST"])
def move_folder(request, folder_id):
    folder = owned_folder(request.user.pk, folder_id)
    context = {
        "mode": "move",
        "folder": folder,
        "folders": folder_choices(request.user.pk, exclude_subtree_of=folder),
        "target": request.POST.get("target_folder_id", str(folder.parent_id or "")),
    }
    if request.method == "GET":
        return folder_dialog(request, "media_library/_folder_form.html", context)
    target = owned_folder(request.user.pk, request.POST.get("target_folder_id"))
    try:
        folders.move_folder(request.user.pk, folder.pk, target.pk if target else None)
    except FOLDER_ERRORS as exc:
        return folder_dialog(
            request, "media_library/_folder_form.html", {**context, "error": message_of(exc)}, 422
        )
    return go_to(request, folder_url(folder))


@login_required
@require_http_methods(["GET", "POST"])
def trash_folder(request, folder_id):
    folder = owned_folder(request.user.pk, folder_id)
    if request.method == "GET":
        file_count = (
            MediaFile.objects.live().filter(owner=request.user, folder__path__startswith=folder.path).count()
        )
        return folder_dialog(
            request, "media_library/_folder_trash.html", {"folder": folder, "file_count": file_count}
        )
    try:
        folders.trash_folder(request.user.pk, folder.pk)
    except FOLDER_ERRORS as exc:
        context = {"folder": folder, "file_count": None, "error": message_of(exc)}
        return folder_dialog(request, "media_library/_folder_trash.html", context, 422)
    return go_to(request, folder_url(folder.parent_id))
