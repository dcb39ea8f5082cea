"""Training: the resolved run config and `--set` parsing, one training run, evaluation by length."""
