"""The channel layer as Redis holds it: the configured layer and its backends, and its groups and
queues read safely (bounded, pipelined, never KEYS), once or as repeated samples."""
