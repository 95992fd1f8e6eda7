"""REST endpoints: thin DRF views over the core modules, one module per resource."""
