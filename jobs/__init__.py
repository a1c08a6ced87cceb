"""A reusable jobs engine: run an operation over many ids, in chunks, with live progress.

    import jobs
    job = jobs.submit("trash", user, ids, params={...})

`jobs.submit`, `jobs.cancel_job` and `jobs.retry_failed` (from jobs.services) are bound when the
app is ready (JobsConfig.ready), so `import jobs` never loads models at app-loading time.
See jobs/README.md for the states and the exactly-once argument.
"""
