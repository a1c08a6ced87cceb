"""The thumbnails job kind, registered with jobs.registry."""
