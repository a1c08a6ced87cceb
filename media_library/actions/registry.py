"""The registry of bulk actions: the one list the pages, the API and the job kinds read.

`@register` on a BulkAction subclass makes it an action: the pages offer it (by `takes`, in
`priority` order), POST /api/jobs/ accepts its name, and its job kind is declared with the jobs
engine. The actions are imported (and so registered) by media_library.actions.
"""

from jobs import registry as job_kinds
from media_library.actions.selection import SelectionError

_actions = {}


def register(action_class):
    action = action_class()
    if action.name in _actions:
        raise ValueError(f"bulk action {action.name!r} is already registered")
    _actions[action.name] = action
    job_kinds.register(action.job_kind())
    return action_class


def get_action(name):
    """The action called `name`; SelectionError (with the valid names) for anything else."""
    try:
        return _actions[name]
    except (KeyError, TypeError):
        names = ", ".join(sorted(_actions))
        raise SelectionError(f"Unknown action. Use one of: {names}.") from None


def all_actions():
    return sorted(_actions.values(), key=lambda action: (action.takes, action.priority))


def actions_with_scope(scope):
    """The actions that take `scope` (e.g. Scope.TREE: the folder's own buttons), in button order."""
    return [action for action in all_actions() if scope in action.scopes]


def actions_taking(*takes):
    """The actions offered on a page, e.g. actions_taking(Takes.LIVE) for a folder, in button order."""
    return [action for action in all_actions() if action.takes in takes]
