"""Submitting a bulk action: the one function behind the pages' action bar and POST /api/jobs/.

It reads top to bottom, each step in its own module and each module entered once: the action
from the registry, the Selection built once from the posted fields, then the action's submit:
its parameters, then ONE job over all the files (their ids stream from the database into the
job's chunk rows, or an action such as Download as ZIP plans its own chunks).
"""

from media_library.actions.registry import get_action
from media_library.actions.selection import Selection, SelectionError, nothing_to_do


def submit_action(owner, name, data, *, max_ticked=None):
    """Submit the action `name` for `owner` over the files the posted fields `data` name; returns
    (job, count).

    `data` is a mapping (the action bar's form, or the API's JSON body): the selection (scope,
    file_ids, folder_id, q, sort; see selection) and the action's parameters (e.g.
    target_folder_id, pattern). SelectionError says why no job was made (SelectionNotFound: a
    folder that is not the owner's).
    """
    action = get_action(name)
    selection = Selection.build(owner.pk, action, data, max_ticked=max_ticked)
    files = selection.files
    if not files.exists():
        raise SelectionError(nothing_to_do(action))
    job = action.submit(owner, selection, files, data)  # the parameters checked, then ONE job
    return job, job.total
