"""What a run's probabilities can be trusted for: temperature calibration, the unknown rule,
precision/recall and risk-coverage curves, and `rule`, which fits and applies them."""
