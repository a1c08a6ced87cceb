"""Views of the file manager: one small module per page or partial, and the file downloads
(see media_library.urls). They are thin: check ownership, parse the request, call the domain."""
