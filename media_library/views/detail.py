"""The detail side panel of one file: preview, size, dimensions, format, dates, folder, SHA-256."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from media_library.listing import breadcrumb
from media_library.models import MediaFile


@login_required
@require_GET
def file_detail(request, file_id):
    media_file = get_object_or_404(
        MediaFile.objects.select_related("blob", "folder"), pk=file_id, owner=request.user
    )
    crumbs = breadcrumb(request.user.pk, media_file.folder)
    return render(request, "media_library/_detail.html", {"file": media_file, "crumbs": crumbs})
