"""Execution: the SQLite result store, TOML grids, the driver and its local or Ray workers."""
