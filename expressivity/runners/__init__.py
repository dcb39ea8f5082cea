"""Everything that runs, in four rooms: `cli` (the `expressivity` command), `training` (config, one run,
evaluation), `execution` (store, grids, workers) and `reports` (presets, tables, plots). Imports go one way:
cli -> reports -> execution -> training."""
