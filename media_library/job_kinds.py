"""The media library's job kinds, registered with jobs.registry."""
