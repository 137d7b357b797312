// The layout of one encoded operation: a row of kOpWidth 64-bit integers.
//
// This header is the single definition of the op buffer format. The Python encoder
// (qiskit_cupy/program.py) reads these constants from this file's text, so the two
// sides cannot drift apart. Keep each constant on its own line as
// `constexpr index_t kName = value;`.
#pragma once

#include "portable.cuh"

namespace qc {
namespace op {

// Field offsets within a row.
constexpr index_t kKind = 0;             // one of the kinds below
constexpr index_t kNumTargets = 1;       // k: the matrix acts on 2^k amplitudes
constexpr index_t kNumSorted = 2;        // how many positions are in the sorted list
constexpr index_t kDataOffset = 3;       // first complex element of the op's data
constexpr index_t kDataBatchStride = 4;  // complex elements between batch entries (0: shared)
constexpr index_t kControlValue = 5;     // required values of the control bits, in place
constexpr index_t kTargetMask = 6;       // bit mask of the targets (wide diagonals)
constexpr index_t kTargets = 7;          // up to kMaxWideTargets target positions, matrix bit order
constexpr index_t kSorted = 23;          // up to 64 sorted qubit positions
constexpr index_t kPermutation = 87;     // permutation kinds: image of each basis state
constexpr index_t kPhased = 91;          // permutation kinds: 1 if any phase differs from 1
constexpr index_t kOpWidth = 96;

constexpr index_t kMaxTargets = 5;
constexpr index_t kMaxPermutationTargets = 2;
constexpr index_t kMaxWideTargets = 16;

// Kinds.
constexpr index_t kDense = 0;        // data: 2^k x 2^k row-major matrix
constexpr index_t kDiagonal = 1;     // data: 2^k diagonal entries
constexpr index_t kPermutationKind = 2;  // data: 2^k phases, one per input basis state
constexpr index_t kWideDiagonal = 3;  // data: 2^k diagonal entries; targets ascending, k at run time

}  // namespace op
}  // namespace qc
