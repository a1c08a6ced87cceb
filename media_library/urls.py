from django.urls import path

from media_library import downloads

app_name = "media_library"
urlpatterns = [
    path("files/<int:file_id>/download/", downloads.download, name="download"),
    path("files/<int:file_id>/raw/", downloads.raw, name="raw"),
    path("files/<int:file_id>/thumb/<int:size>/", downloads.thumbnail, name="thumbnail"),
]
