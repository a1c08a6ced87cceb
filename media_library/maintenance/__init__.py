"""Keeping the library tidy without anyone asking: trash retention (the scheduled purge), the
sweep of stored files no row references, the single-run lock both rely on, and the beat
schedules they ship with."""
