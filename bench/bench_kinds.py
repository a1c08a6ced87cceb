"""The job kind the progress benchmark runs (imported by its worker via JOBS_EXTRA_KIND_MODULES)."""

from jobs.registry import ChunkOutcome, JobKind, register


def noop(ctx):
    return ChunkOutcome(done=len(ctx.ids))


NOOP = register(JobKind(name="bench.noop", label="Bench no-op", handler=noop, queue="auto"))
