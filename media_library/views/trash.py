"""The Trash view: trashed files, where each came from, and when it will be deleted forever."""

import math
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from media_library.actions import Takes, actions_taking
from media_library.folders import decode_trashed_path
from media_library.listing import InvalidCursor, count_files
from media_library.maintenance.retention import purge_date, retention_days
from media_library.models import Folder
from media_library.views.browser import listing_page, wants_listing_only
from media_library.views.params import ListingParams, sort_choices


def annotate_trash_rows(owner_id, rows):
    """Set `origin` (the live folder it came from) or `origin_path` (the names of a deleted one), and
    `purge_at`/`days_left` on each row."""
    now = timezone.now()
    origin_ids = {row.trashed_from_id for row in rows if row.trashed_from_id}
    origins = Folder.objects.filter(owner_id=owner_id, id__in=origin_ids).only("id", "name").in_bulk()
    for row in rows:
        row.origin = origins.get(row.trashed_from_id)
        row.origin_path = ""
        if row.origin is None and row.trashed_from_path:
            # The folder is gone; restore recreates it from the folder names trash stored.
            row.origin_path = " / ".join(decode_trashed_path(row.trashed_from_path))
        row.purge_at = purge_date(row.trashed_at)
        row.days_left = max(0, math.ceil((row.purge_at - now) / timedelta(days=1)))
    return rows


@login_required
@require_GET
def trash_page(request):
    params = ListingParams.from_request(request, trash=True)
    try:
        rows, next_url = listing_page(request, params, folder_id=None, trashed=True)
    except InvalidCursor:
        return HttpResponseBadRequest("This page link is not valid any more; reload the trash.")
    annotate_trash_rows(request.user.pk, rows)
    context = {
        "params": params,
        "rows": rows,
        "next_url": next_url,
        "retention_days": retention_days(),
    }
    if params.cursor:
        return render(request, "media_library/_trash_rows.html", context)
    context.update(
        total=count_files(request.user.pk, q=params.q, trashed=True),
        sort_choices=sort_choices(trash=True),
        actions=actions_taking(Takes.TRASHED),
        whole_trash_actions=actions_taking(Takes.WHOLE_TRASH),
        in_trash=True,
        folder=None,
    )
    if wants_listing_only(request):
        return render(request, "media_library/_trash_listing.html", context)
    return render(request, "media_library/trash.html", context)
