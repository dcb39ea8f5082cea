"""Reports: the published tables as presets, our tables beside them, and plots."""
