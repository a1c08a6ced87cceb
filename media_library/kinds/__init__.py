"""The job kinds of the media library, registered with jobs.registry (the engine never imports us).

- `files`: the chunk handlers of the set-based file operations (their kinds are declared by the
  bulk actions in media_library.actions, which run them);
- `thumbnails`: renditions after an upload ("Make thumbnails"; the "Regenerate thumbnails"
  action runs the same handler with `force`);
- `purge`: the scheduled purge of expired trash (staff only);
- `archive`: Download as ZIP (declared by its action): parts per chunk, assembled after the job.
"""

from media_library.kinds import purge, thumbnails

__all__ = ["purge", "thumbnails"]
