// Index helpers shared by every kernel: 64-bit bit insertion and gathering.
#pragma once

#include "portable.cuh"

#if !defined(__CUDACC__) && defined(__BMI2__)
#include <immintrin.h>
#endif

namespace qc {

// Inserts a zero bit at each of `count` positions (sorted ascending) into `i`.
// Enumerating i over [0, 2^(n - count)) visits every n-bit index whose bits at those
// positions are zero, in increasing order.
QC_HD uindex_t insert_zero_bits(uindex_t i, const index_t* sorted_positions, int count) {
  for (int j = 0; j < count; ++j) {
    const uindex_t low_mask = (uindex_t{1} << sorted_positions[j]) - 1;
    i = ((i & ~low_mask) << 1) | (i & low_mask);
  }
  return i;
}

// Places bit b of `value` at position positions[b], for b < count.
QC_HD uindex_t deposit_bits(uindex_t value, const index_t* positions, int count) {
  uindex_t out = 0;
  for (int b = 0; b < count; ++b) {
    out |= ((value >> b) & 1) << positions[b];
  }
  return out;
}

// Collects the bits of `index` at positions[b] into bit b of the result, for b < count.
QC_HD uindex_t gather_bits(uindex_t index, const index_t* positions, int count) {
  uindex_t out = 0;
  for (int b = 0; b < count; ++b) {
    out |= ((index >> positions[b]) & 1) << b;
  }
  return out;
}

// Collects the bits of `index` under `mask` into the low bits of the result, lowest
// first; `ascending` lists the mask's `count` positions in increasing order. One BMI2
// instruction on hosts that have it, a loop elsewhere.
QC_HD uindex_t extract_bits(uindex_t index, uindex_t mask, const index_t* ascending, int count) {
#if !defined(__CUDACC__) && defined(__BMI2__)
  (void)ascending;
  (void)count;
  return _pext_u64(index, mask);
#else
  (void)mask;
  return gather_bits(index, ascending, count);
#endif
}

// The parity of the set bits of x (0 or 1): one population count on either device.
QC_HD int parity(uindex_t x) {
#if defined(__CUDA_ARCH__)
  return __popcll(x) & 1;
#else
  return __builtin_parityll(x);
#endif
}

}  // namespace qc
