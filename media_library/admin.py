"""Admin for folders, blobs and files: search, filters and thumbnail previews.

Previews come from an admin-only view on the Blob admin (staff with the Blob view permission;
any owner's blob), so no owner-checked public URL is needed. It serves the 256 px thumbnail once
the thumbnails job has written it, and a 404 until then.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from media_library.imaging import THUMBNAIL_SIZE
from media_library.models import Archive, Blob, Folder, MediaFile
from media_library.storage import open_rendition


def thumbnail_url(blob):
    """The admin-only URL of a blob's small thumbnail, or None while it is not ready."""
    if blob is None or blob.thumbnail_status != Blob.Thumbnail.READY:
        return None
    return reverse("admin:media_library_blob_thumbnail", args=[blob.pk])


def thumbnail_preview(blob, size=64):
    url = thumbnail_url(blob)
    if url is None:
        return "—"
    return format_html(
        '<img src="{}" alt="" width="{}" height="{}" style="object-fit:cover">', url, size, size
    )


@admin.register(Folder)
class FolderAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "path", "depth", "created"]
    list_filter = ["depth", "created"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    readonly_fields = ["owner", "parent", "path", "depth", "created", "updated"]
    show_full_result_count = False  # COUNT(*) over a huge table on every page is not free

    # `path` materialises the ancestors: a folder changes parent or owner only through the file
    # manager (media_library.folders.move_folder), which rewrites the whole subtree's paths.
    # For the same reason folders are created there, never here.
    def has_add_permission(self, request):
        return False


@admin.register(Blob)
class BlobAdmin(admin.ModelAdmin):
    list_display = [
        "preview",
        "short_sha",
        "format",
        "width",
        "height",
        "size",
        "thumbnail_status",
        "created",
    ]
    list_filter = ["format", "thumbnail_status", "created"]
    search_fields = ["=sha256"]
    readonly_fields = ["preview_large", "sha256", "size", "format", "width", "height", "created"]
    show_full_result_count = False

    @admin.display(description="Preview")
    def preview(self, blob):
        return thumbnail_preview(blob)

    @admin.display(description="Preview")
    def preview_large(self, blob):
        return thumbnail_preview(blob, size=256)

    @admin.display(description="SHA-256", ordering="sha256")
    def short_sha(self, blob):
        return blob.sha256[:12]

    def get_urls(self):
        view = self.admin_site.admin_view(self.thumbnail_view)
        return [path("<int:pk>/thumbnail/", view, name="media_library_blob_thumbnail"), *super().get_urls()]

    def thumbnail_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied  # staff without the Blob view permission see no one's images
        blob = get_object_or_404(Blob, pk=pk)
        try:
            handle = open_rendition(blob.sha256, THUMBNAIL_SIZE)
        except FileNotFoundError:
            raise Http404("No thumbnail yet.") from None
        response = FileResponse(handle, content_type="image/webp")
        response["X-Content-Type-Options"] = "nosniff"
        return response


class TrashedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("trashed", "In the trash")]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.live()
        if self.value() == "trashed":
            return queryset.trashed()
        return queryset


@admin.register(MediaFile)
class MediaFileAdmin(admin.ModelAdmin):
    list_display = ["preview", "name", "owner", "folder", "size", "created", "trashed_at"]
    list_filter = [TrashedFilter, "blob__format", "created", "trashed_at"]
    search_fields = ["name", "owner__username", "=blob__sha256"]
    list_select_related = ["owner", "folder", "blob"]
    # Where a file lives, whose it is and which bytes it shows change only through the operations
    # (which de-conflict names, keep the trash's memory and check ownership), never by a form.
    readonly_fields = [
        "preview_large", "owner", "folder", "blob", "size", "trashed_at", "trashed_from",
        "trashed_from_path", "created", "updated", "copied_from", "copy_key",
    ]  # fmt: skip
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.display(description="Preview")
    def preview(self, media_file):
        return thumbnail_preview(media_file.blob)

    @admin.display(description="Preview")
    def preview_large(self, media_file):
        return thumbnail_preview(media_file.blob, size=256)


@admin.register(Archive)
class ArchiveAdmin(admin.ModelAdmin):
    """ZIP downloads, read-only: they are made by archive jobs and removed by the expiry schedule."""

    list_display = ["name", "owner", "status", "file_count", "size", "ready_at", "expires_at"]
    list_filter = ["status", "created"]
    search_fields = ["name", "owner__username", "=job__id"]
    list_select_related = ["owner"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
