"""A reusable jobs engine: run an operation over many ids, in chunks, with live progress.

    import jobs
    job = jobs.submit("trash", user, ids, params={...})

The public functions are imported lazily so `import jobs` never loads models at app-load time.
"""

_PUBLIC = {"submit", "cancel_job", "retry_failed"}


def __getattr__(name):
    if name in _PUBLIC:
        from jobs import services

        return getattr(services, name)
    raise AttributeError(f"module 'jobs' has no attribute {name!r}")
