"""What to train and how: `TrainConfig`, the Auto choice of model and settings, the epoch
budget, and the guard rails that refuse settings which cannot work."""
