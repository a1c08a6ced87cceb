"""URLs of the browser file manager (HTML pages and HTMX partials)."""

app_name = "pages"
urlpatterns = []
