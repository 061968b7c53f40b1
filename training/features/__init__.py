"""What a model computes from images besides its answer: penultimate-layer embeddings,
batched model calls, and the memory-mapped store of frozen-backbone features."""
