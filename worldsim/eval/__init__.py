"""Measuring world-model quality: frame metrics, held-out validation, checkpoint comparison, memory tests.

`metrics` and `validation` import only model-level code (the trainer validates with them); `compare` and
`memory` load checkpoints and may use the engine.
"""
