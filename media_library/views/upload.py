"""The upload page. The bytes go to POST /api/files/ from static/js/upload.js, not through here."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from media_library.listing import breadcrumb
from media_library.views.params import owned_folder_or_404


@login_required
@require_GET
def upload_page(request):
    folder = owned_folder_or_404(request.user, request.GET.get("folder") or None)
    crumbs = breadcrumb(request.user.pk, folder)
    return render(request, "media_library/upload.html", {"folder": folder, "crumbs": crumbs})
