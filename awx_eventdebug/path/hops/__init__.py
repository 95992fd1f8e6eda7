"""The hops of the critical path, one module each, listed in order by path/registry.py."""
