"""Fitting a model: `train()` and `resume()`, the session that builds and fits it, callbacks,
learning-rate schedules, devices and distribution strategies, TensorBoard logs."""
