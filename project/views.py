from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from media_library.maintenance.retention import maintenance_summary
from media_library.models import LIVE, TRASHED, Folder, MediaFile


@login_required
def dashboard(request):
    """The home page: a summary of the library (two aggregate queries) with links into it."""
    files = MediaFile.objects.filter(owner=request.user).aggregate(
        live=Count("id", filter=LIVE),
        trashed=Count("id", filter=TRASHED),
    )
    folders = Folder.objects.filter(owner=request.user).count()
    context = {"files": files, "folder_count": folders, "maintenance": maintenance_summary(request.user)}
    return render(request, "dashboard.html", context)
