"""Channel overflow: the channels_redis "over capacity" records, captured live by a logging handler
or ingested from logs, counted into the ChannelOverflow table, and the queries over it."""
