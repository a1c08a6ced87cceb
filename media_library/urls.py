"""Every URL of the media library in one namespace, `media_library:` (the JSON API is at /api/)."""

from django.urls import path

from media_library.views import actions, browser, detail, downloads, folders, trash, upload

app_name = "media_library"
urlpatterns = [
    # The file manager's pages and htmx partials.
    path("library/", browser.folder_page, name="library"),
    path("library/folders/<int:folder_id>/", browser.folder_page, name="folder"),
    path("library/folders/new/", folders.new_folder, name="new_folder"),
    path("library/folders/<int:folder_id>/rename/", folders.rename_folder, name="rename_folder"),
    path("library/folders/<int:folder_id>/move/", folders.move_folder, name="move_folder"),
    path("library/folders/<int:folder_id>/trash/", folders.trash_folder, name="trash_folder"),
    path("library/files/<int:file_id>/", detail.file_detail, name="file_detail"),
    path("library/actions/confirm/", actions.confirm_action, name="confirm_action"),
    path("library/actions/", actions.submit_action_view, name="submit_action"),
    path("library/trash/", trash.trash_page, name="trash"),
    path("library/upload/", upload.upload_page, name="upload"),
    # A file's bytes and renditions (for its owner only; also with a Bearer token, for scripts).
    path("files/<int:file_id>/download/", downloads.download, name="download"),
    path("files/<int:file_id>/raw/", downloads.raw, name="raw"),
    path("files/<int:file_id>/thumb/<int:size>/", downloads.thumbnail, name="thumbnail"),
    # A ZIP made by an archive job (its owner only).
    path("archives/<uuid:job_id>/download/", downloads.archive_download, name="archive_download"),
]
