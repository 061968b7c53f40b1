"""Active learning: which unlabelled images to label next (issue 23, item 3).

A round trains a fast model on the labels given so far (less a held-back share that
estimates its accuracy), predicts the unlabelled pool, and ranks it:

* ``training.active.strategies`` - random, uncertainty (margin or entropy), BADGE (the
  default: k-means++ seeding on last-layer gradient embeddings) and uncertainty plus
  diversity (the least sure, skipping near-duplicates of earlier picks in the model's
  penultimate features; k-center greedy as an option);
* ``training.active.fastmodel``  - the model a round trains (a small CNN, or a head on a
  frozen backbone's features where its weights are on disk);
* ``training.active.heldback``   - which labels are held back, and when a round can start;
* ``training.active.queue``      - the queue: the strategy's picks, one random check in 10
  (the images whose labels are held back), so the accuracy estimate is unbiased;
* ``training.active.rounds``     - one round, over any batch reader.

Qt-free; TensorFlow is imported inside functions, so importing this package is cheap.
"""
