from django.apps import AppConfig


class MediaLibraryConfig(AppConfig):
    name = "media_library"
    verbose_name = "Media library"

    def ready(self):
        # Declare this app's job kinds with the jobs engine (jobs never imports media_library).
        from media_library import job_kinds, purge_kind, thumbnail_kind  # noqa: F401
