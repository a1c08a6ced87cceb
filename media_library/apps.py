from django.apps import AppConfig


class MediaLibraryConfig(AppConfig):
    name = "media_library"
    verbose_name = "Media library"

    def ready(self):
        # Declare this app's job kinds with the jobs engine (jobs never imports media_library):
        # the kinds of its own (thumbnails, purge) and those of the bulk actions.
        from media_library import actions, kinds  # noqa: F401
