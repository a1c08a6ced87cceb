"""Submitting a bulk action: the one function behind the pages' action bar and POST /api/jobs/.

It reads top to bottom, each step in its own module and each module entered once: the action
from the registry, the files from the selection, then the action's submit: its parameters, then
ONE job over all the files (their ids stream from the database into the job's chunk rows, or an
action such as Download as ZIP plans its own chunks).
"""

from media_library.actions.registry import get_action
from media_library.actions.selection import SelectionError, nothing_to_do, resolve


def submit_action(owner, name, request, *, max_ticked=None):
    """Submit the action `name` for `owner` over the files `request` names; returns (job, count).

    `request` is a mapping: the selection (scope, file_ids, folder_id, q, sort; see selection)
    and the action's parameters (e.g. target_folder_id, pattern). SelectionError says why no
    job was made (SelectionNotFound: a folder that is not the owner's).
    """
    action = get_action(name)
    files = resolve(owner.pk, action, request, max_ticked=max_ticked)
    if not files.exists():
        raise SelectionError(nothing_to_do(action))
    job = action.submit(owner, files, request)  # the parameters checked, then ONE job over the files
    return job, job.total
