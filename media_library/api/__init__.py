"""The media library's part of the JSON API (mounted by project/api_urls.py at /api/).

- `auth`: who the caller is (a Bearer token, or the session with CSRF); under both, the
  endpoints read the caller as `request.auth`, a User;
- `tokens`: the per-user API tokens;
- `files`: upload, list and read files; list and create folders;
- `jobs`: POST /api/jobs/, a bulk action over a selection (the pages' submit, as JSON).
"""
