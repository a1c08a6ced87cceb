"""What a listing request asks for (folder, sort, filter, grid/list, cursor), parsed once."""

from dataclasses import dataclass
from urllib.parse import urlencode

from media_library.listing import FOLDER_SORTS, MAX_CURSOR_LENGTH, TRASH_SORTS, normalise_query

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
            cursor=request.GET.get("cursor", "")[:MAX_CURSOR_LENGTH],
        )

    def query_string(self, **overrides):
        """The query string of this listing (without cursor unless given), defaults left out."""
        values = {"sort": self.sort, "q": self.q, "view": self.view, **overrides}
        return urlencode({k: v for k, v in values.items() if v})


def sort_choices(trash=False):
    return [(key, SORT_LABELS[key]) for key in (TRASH_SORTS if trash else FOLDER_SORTS)]
