"""The folder page: sidebar tree, breadcrumb, toolbar, grid/list of files, infinite scroll.

One URL answers three ways so the address bar always shows a real, shareable page:
- a normal GET renders the whole page;
- an htmx request aimed at #listing (sort, filter, grid/list toggle) renders only the listing;
- a request with a cursor (the infinite-scroll sentinel) renders only the next rows.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from media_library.actions import Scope, Takes, actions_taking, actions_with_scope
from media_library.folders import owned_folder
from media_library.listing import (
    InvalidCursor,
    breadcrumb,
    count_files,
    folder_tree,
    list_files,
    subfolders,
    tree_rows,
)
from media_library.views.params import PAGE_SIZE, ListingParams, sort_choices


def listing_page(request, params, *, folder_id, trashed):
    """(rows, next_url) of the requested page, or raise InvalidCursor."""
    rows, next_cursor = list_files(
        request.user.pk, folder_id, sort=params.sort, q=params.q, trashed=trashed,
        cursor=params.cursor or None, limit=PAGE_SIZE,
    )  # fmt: skip
    next_url = f"{request.path}?{params.query_string(cursor=next_cursor)}" if next_cursor else ""
    return rows, next_url


def wants_listing_only(request):
    return bool(request.htmx) and request.htmx.target == "listing"


@login_required
@require_GET
def folder_page(request, folder_id=None):
    folder = owned_folder(request.user.pk, folder_id)  # another user's folder: 404
    params = ListingParams.from_request(request)
    current_id = folder.pk if folder else None
    try:
        rows, next_url = listing_page(request, params, folder_id=current_id, trashed=False)
    except InvalidCursor:
        return HttpResponseBadRequest("This page link is not valid any more; reload the folder.")
    context = {"folder": folder, "params": params, "rows": rows, "next_url": next_url}
    if params.cursor:
        return render(request, "media_library/_rows.html", context)
    context.update(
        total=count_files(request.user.pk, current_id, q=params.q),
        subfolders=subfolders(request.user.pk, current_id, q=params.q),
        sort_choices=sort_choices(),
        actions=actions_taking(Takes.LIVE),
        tree_actions=actions_with_scope(Scope.TREE),
        in_trash=False,
    )
    if wants_listing_only(request):
        return render(request, "media_library/_listing.html", context)
    context.update(
        tree=tree_rows(folder_tree(request.user.pk, folder)),
        crumbs=breadcrumb(request.user.pk, folder),
    )
    return render(request, "media_library/browser.html", context)
