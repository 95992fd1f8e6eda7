"""Event lag: percentiles of ``modified - created`` over AWX's event tables, computed in the
database, and the validation of a lag request."""
