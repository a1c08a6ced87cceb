import importlib.util

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import render

from media_library.models import Folder, MediaFile


def maintenance_summary():
    """Trash retention facts for the dashboard (issue 6's media_library.retention, when present:
    the two were built in parallel; once both are merged the check is always true)."""
    if importlib.util.find_spec("media_library.retention") is None:
        return None
    from media_library.retention import maintenance_summary as summary

    return summary()


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
