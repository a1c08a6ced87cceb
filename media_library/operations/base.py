"""What the operations share: their result, their error, reading a batch, writing per-row values."""

from dataclasses import dataclass, field

from django.db.models import Case, F, Value, When

from media_library.folders import FolderError, get_owned_folder
from media_library.models import MediaFile

NOT_FOUND = "not found"
IN_TRASH = "in the trash"
NOT_IN_TRASH = "not in the trash"


class OperationError(ValueError):
    """The whole batch cannot run as asked (bad parameters, a missing target folder)."""


@dataclass
class OperationResult:
    done: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)

    def fail(self, file_id, reason):
        self.failures.append((file_id, reason))


def fetch_owned(owner_id, ids, *fields):
    """{id: row dict} of the owner's files among `ids`, in the order of `ids`, in one query.

    The query filters on the primary key only; ownership is checked on the fetched rows, so the
    planner always takes the primary key (see the module docstring).
    """
    wanted = list(dict.fromkeys(int(i) for i in ids))
    rows = {
        row["id"]: row
        for row in MediaFile.objects.filter(pk__in=wanted).values("id", "owner_id", *fields)
        if row["owner_id"] == owner_id
    }
    return {pk: rows[pk] for pk in wanted if pk in rows}, [pk for pk in wanted if pk not in rows]


def target_folder(owner_id, folder_id):
    """The owner's target folder (None = the root), or OperationError."""
    if folder_id is None:
        return None
    try:
        return get_owned_folder(owner_id, folder_id)
    except FolderError:
        raise OperationError("The target folder does not exist.") from None


def per_row(values, field_name, default=None):
    """A CASE expression giving each row (by id) its own value; rows not listed keep `default`."""
    model_field = MediaFile._meta.get_field(field_name)
    output = model_field.target_field if model_field.is_relation else model_field
    fallback = F(model_field.attname) if default is None else default
    whens = [When(pk=pk, then=Value(value, output_field=output)) for pk, value in values.items()]
    if not whens:
        return fallback
    return Case(*whens, default=fallback, output_field=output)
