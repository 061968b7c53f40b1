"""Using a trained run: predicting on files, evaluating on the test split, and Grad-CAM."""
