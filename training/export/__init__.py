"""Exporting a run's model (SavedModel, ONNX, TFLite) with its signature, parity gate and trust
files, and `predictor`, which classifies with an exported file and no TensorFlow."""
