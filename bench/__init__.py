"""Benchmarks of SPEC section 8: each prints ratios measured in one run (machines are noisy)."""
