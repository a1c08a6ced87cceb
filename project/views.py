from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import render

from media_library.maintenance.retention import maintenance_summary
from media_library.models import Folder, MediaFile


@login_required
def dashboard(request):
    """The home page: a summary of the library (two aggregate queries) with links into it."""
    files = MediaFile.objects.filter(owner=request.user).aggregate(
        live=Count("id", filter=Q(trashed_at__isnull=True)),
        trashed=Count("id", filter=Q(trashed_at__isnull=False)),
    )
    folders = Folder.objects.filter(owner=request.user).count()
    context = {"files": files, "folder_count": folders, "maintenance": maintenance_summary()}
    return render(request, "dashboard.html", context)
