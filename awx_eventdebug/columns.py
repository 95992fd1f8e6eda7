"""What the features must know of the app's columns (models.py), here because they need it
before Django's app registry is ready: a LOGGING dictConfig builds the overflow capture handler
before Django loads the models."""

# Width of the node and group columns (ChannelOverflow, NodeSnapshot, OverflowTotal).
NAME_MAX_LENGTH = 255

# ChannelOverflow.source: where a row's counts come from.
SOURCE_LIVE = "live"
SOURCE_INGEST = "ingest"
SOURCES = [(SOURCE_LIVE, "captured live"), (SOURCE_INGEST, "ingested from a log file")]
