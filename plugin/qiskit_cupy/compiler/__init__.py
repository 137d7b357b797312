"""The compiler: circuits lowered to gate ops and steps, fused, and encoded for the kernels."""
