"""The upload page. The bytes go to POST /api/files/ from static/js/upload.js, not through here."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from media_library.folders import owned_folder
from media_library.listing import breadcrumb


@login_required
@require_GET
def upload_page(request):
    folder = owned_folder(request.user.pk, request.GET.get("folder"))  # another user's folder: 404
    crumbs = breadcrumb(request.user.pk, folder)
    return render(request, "media_library/upload.html", {"folder": folder, "crumbs": crumbs})
