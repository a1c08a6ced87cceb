"""Download as ZIP: one archive of a selection, built by a job on the bulk queue.

    submit (the request)      planning.py   every entry's path and name, chunks bounded in files
                                            and bytes: Archive + one ArchivePart plan per chunk
    each chunk (a worker)     building.py   the chunk's part: local headers, bytes, descriptors,
                                            streamed from storage to a new stored object
    every chunk recorded      assembly.py   a tail (MISSING.txt, central directory, ZIP64 end
    (a task on the bulk queue)              records); the ZIP = the parts + the tail, in order;
                                            the job succeeds only now, with its ZIP
    download (the request)    views/downloads.py + views/ranges.py: owner only, Range
    beat                      expiry.py     expiry, recovery of stalled assemblies, leftovers
    the records themselves    zipformat.py

Exactly once under redelivery. Every object a chunk or an assembly writes has a fresh name (job
id, chunk index, a random token), so two attempts never write into the same object, and an
object becomes part of the archive only through one database write made under the engine's or
the lease's guard:

- A chunk's part becomes the chunk's in ChunkOutcome.commit, which the engine runs inside the
  transaction that records the chunk done, after it has locked the chunk row and seen it still
  running. A chunk records at most once, so at most one attempt's part is ever referenced, and
  the entries (name, CRC-32, size, offset) that the central directory will need are committed
  with it. An attempt killed mid-write commits nothing: its half-written object is referenced by
  no row, and the redelivered chunk writes a whole new part. A duplicate delivery that runs at
  the same time writes its own object and loses at the record. Files, counters and bytes done
  count once because they are recorded in that same transaction.
- The assembly starts only when every chunk is recorded (so every part is final; the job stays
  `running` meanwhile), under a lease taken by compare-and-set; it checks each recorded part's
  size in storage, writes its tail under a new name, and makes the archive ready with one UPDATE
  conditional on still holding the lease, in the transaction that makes the job `succeeded` (or
  `partial`): a job never reads final before its ZIP can be downloaded. A second assembler waits
  out a live lease; a dead one's lease runs out and the sweep sends the assembly again; a failed
  attempt gives the claim back and its task retries. Whichever attempt commits, the ZIP it names
  is whole; everything else in the job's directory is deleted after that commit, and by the
  sweep if that deletion is interrupted.

So a reader can never be handed a ZIP that mixes attempts or misses a part: until the archive
is ready there is no download, and once it is, the objects it names never change.
"""
