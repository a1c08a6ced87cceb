from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from media_library.archives.expiry import space_used
from media_library.maintenance.retention import maintenance_summary
from media_library.models import LIVE, TRASHED, Folder, MediaFile


@login_required
def dashboard(request):
    """The home page: a summary of the library (a few aggregate queries) with links into it."""
    files = MediaFile.objects.filter(owner=request.user).aggregate(
        live=Count("id", filter=LIVE),
        trashed=Count("id", filter=TRASHED),
    )
    folders = Folder.objects.filter(owner=request.user).count()
    context = {
        "files": files,
        "folder_count": folders,
        "maintenance": maintenance_summary(request.user),
        "archives": space_used(request.user),
        "archive_retention_hours": settings.ARCHIVE_RETENTION_HOURS,
    }
    return render(request, "dashboard.html", context)
