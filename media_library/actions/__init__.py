"""The bulk actions: one small class per action (a module each), found through one registry.

    from media_library.actions import get_action, actions_taking, submit_action

Adding an action is one module here with a registered BulkAction subclass (see base), imported
below: the pages offer it, POST /api/jobs/ accepts its name and its job kind exists.
"""

from media_library.actions import (  # noqa: F401 -- each module registers its action
    archive,
    copy,
    delete,
    empty_trash,
    move,
    rename,
    restore,
    thumbnails,
    trash,
)
from media_library.actions.registry import actions_taking, actions_with_scope, all_actions, get_action
from media_library.actions.selection import Scope, Selection, SelectionError, SelectionNotFound, Takes
from media_library.actions.submit import submit_action

__all__ = [
    "Scope",
    "Selection",
    "SelectionError",
    "SelectionNotFound",
    "Takes",
    "actions_taking",
    "actions_with_scope",
    "all_actions",
    "get_action",
    "submit_action",
]
