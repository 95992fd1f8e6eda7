"""Health of the whole critical path: the doctor's findings, the report and check over one window
that combine the other features' figures, and their Prometheus exposition."""
