"""The compiler: circuits lowered to instructions (gate ops and the rest), fused, and encoded
for the kernels."""
