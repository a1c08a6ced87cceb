"""Views of the browser file manager: one small module per page or partial (see page_urls)."""
