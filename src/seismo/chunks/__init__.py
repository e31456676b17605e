"""Stage 2, the chunks: chunkers that cut rows into chunks, the accumulator that builds each
chunk's partials batch by batch (in memory, streamed, incrementally), the reference passes,
and the same on Spark's executors."""
