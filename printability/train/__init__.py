"""Training: the loop, distributed backends, checkpoints and experiment tracking."""
