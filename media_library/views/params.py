"""What a listing request asks for (folder, sort, filter, grid/list, cursor), parsed once."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import Http404

from media_library.listing import FOLDER_SORTS, TRASH_SORTS, normalise_query
from media_library.models import Folder

PAGE_SIZE = 100
SORT_LABELS = {
    "name": "Name (A to Z)",
    "-name": "Name (Z to A)",
    "-created": "Newest first",
    "created": "Oldest first",
    "-size": "Largest first",
    "size": "Smallest first",
    "-trashed": "Recently trashed",
    "trashed": "Trashed longest ago",
}


@dataclass(frozen=True)
class ListingParams:
    sort: str
    q: str
    view: str  # "grid" or "list"
    cursor: str

    @classmethod
    def from_request(cls, request, *, trash=False):
        sorts = TRASH_SORTS if trash else FOLDER_SORTS
        default_sort = "-trashed" if trash else "name"
        sort = request.GET.get("sort") or default_sort
        view = request.GET.get("view") or ("list" if trash else "grid")
        return cls(
            sort=sort if sort in sorts else default_sort,
            q=normalise_query(request.GET.get("q")),
            view=view if view in ("grid", "list") else "grid",
            cursor=request.GET.get("cursor", "")[:512],
        )

    def query_string(self, **overrides):
        """The query string of this listing (without cursor unless given), defaults left out."""
        values = {"sort": self.sort, "q": self.q, "view": self.view, **overrides}
        return urlencode({k: v for k, v in values.items() if v})


def sort_choices(trash=False):
    return [(key, SORT_LABELS[key]) for key in (TRASH_SORTS if trash else FOLDER_SORTS)]


def owned_folder_or_404(user, folder_id):
    """The user's folder; 404 for a missing folder and for another user's (never 403)."""
    if folder_id is None:
        return None
    try:
        return Folder.objects.get(owner=user, pk=int(folder_id))
    except (Folder.DoesNotExist, TypeError, ValueError):
        raise Http404("No such folder.") from None
