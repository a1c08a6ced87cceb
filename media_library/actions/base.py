"""What a bulk action is: a small declarative class, in the style of Wagtail's bulk actions.

A subclass says what it is called (`name`, what the pages post and the `action` of POST
/api/jobs/), its `label`, which files it takes (`takes`) and how they may be named (`scopes`:
ticked ids and all of a folder for every action; a folder with its subfolders for those that
declare Scope.TREE, offered with `tree_label` among the folder's own buttons), how the
confirmation asks (`confirm`, through ngettext), which parameters it needs (`params_template`
for the dialog, `clean_params` to check them with the very checks the job applies) and the job
kind it runs (`kind`, its chunk `handler`, `queue`, `chunk_size`, undo window, success message,
and the optional engine hooks). Registering it (media_library.actions.registry) offers it on the
pages, accepts it on the API and declares its job kind with the jobs engine, with the action's
label on the job card. `submit` checks the parameters and makes the one job (`submit_job`,
which an action that plans its own chunks, Download as ZIP, overrides).
"""

import jobs
from jobs.registry import JobKind
from media_library.actions.selection import Scope, SelectionError, Takes
from media_library.folders import FolderNotFound, owned_folder
from media_library.kinds.files import FILE_CHUNK
from media_library.listing import folder_choices

ID_BATCH = 2000  # ids read from the database per round trip while the job's chunk rows are written


class BulkAction:
    name = ""
    label = ""  # the button and the dialog's title
    job_label = ""  # the job card's title (default: the label)
    takes = Takes.LIVE
    scopes = (Scope.IDS, Scope.FOLDER)
    tree_label = ""  # the folder button's label, for actions that take Scope.TREE
    destructive = False
    priority = 100  # the order of the buttons on the action bar
    params_template = ""  # the dialog's fields for the parameters ("" = none)
    # The confirmation's question: ngettext_lazy(singular, plural, "number"), with %(count)s.
    confirm = ""

    # The job kind this action submits (registered from these attributes).
    kind = ""  # default: the action's name
    handler = None  # staticmethod(ChunkContext -> ChunkOutcome)
    queue = "auto"  # small jobs on the interactive queue, big ones on bulk
    chunk_size = FILE_CHUNK
    atomic = True
    defer_seconds = 0  # an undo window before the job starts
    success_message = "{done} of {total} done"  # shown on the finished job card
    # Optional jobs engine hooks (jobs.registry.JobKind): staticmethods of the kind's module.
    on_finish = None
    make_result = None
    result_link = None
    byte_progress = None
    retryable = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Plain attributes, so that reading them is no call (the submit path stays a straight line).
        cls.kind = cls.kind or cls.name
        cls.job_label = cls.job_label or cls.label

    def confirm_text(self, count):
        """The confirmation's question for `count` files."""
        return self.confirm % {"number": count, "count": f"{count:,}"}

    def clean_params(self, owner_id, data, files):
        """The job's parameters from `data` (form fields or the API's JSON), or SelectionError.

        `files` is the resolved selection (a queryset of ids), for actions whose parameters
        depend on how many files there are.
        """
        return {}

    def params_context(self, owner_id):
        """Extra context for `params_template` (e.g. the folders to choose from)."""
        return {}

    def submit(self, owner, selection, files, data):
        """The action's job over `files` (the selection's ids, in order): its parameters from the
        posted fields `data` checked by clean_params, then submit_job."""
        return self.submit_job(owner, selection, files, self.clean_params(owner.pk, data, files))

    def submit_job(self, owner, selection, files, params):
        """The one job over `files`; their ids stream into its chunk rows. An action that plans its
        own chunks from its `selection` overrides this."""
        return jobs.submit(self.kind, owner, files.iterator(chunk_size=ID_BATCH), params=params)

    def job_kind(self):
        return JobKind(
            name=self.kind, label=self.job_label, handler=self.handler, queue=self.queue,
            chunk_size=self.chunk_size, atomic=self.atomic, defer_seconds=self.defer_seconds,
            success_message=self.success_message, on_finish=self.on_finish, retryable=self.retryable,
            result_link=self.result_link, byte_progress=self.byte_progress, make_result=self.make_result,
        )  # fmt: skip

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"


class TargetFolderAction(BulkAction):
    """An action that puts files into a folder the user chooses (move, copy)."""

    params_template = "media_library/actions/_target_folder.html"

    def clean_params(self, owner_id, data, files):
        if "target_folder_id" not in data:
            raise SelectionError("Choose a target folder (target_folder_id; null for the root).")
        try:
            target = owned_folder(owner_id, data["target_folder_id"])
        except FolderNotFound:
            raise SelectionError(
                "The target folder does not exist. Choose a folder of your library."
            ) from None
        return {"target_folder_id": target.pk if target else None}

    def params_context(self, owner_id):
        return {"folders": folder_choices(owner_id)}
