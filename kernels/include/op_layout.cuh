// The op buffer format and the op-kind registry: the single definition of both.
//
// An encoded operation is a row of kOpWidth 64-bit integers. Python
// (qiskit_cupy/compiler/op_registry.py) reads this file's text: each layout constant
// on its own line as `constexpr index_t kName = value;`, and each registry entry on its
// own line as `OpKindEntry<op::kCode, Body, ...>,`. Encoding, the CUDA instantiations
// (name expressions), fusion's limits and the option bounds are derived from it there;
// the CPU launcher (kernels/cpu/program_launchers.hpp) dispatches and checks rows by walking the
// same registry at compile time. Adding a kind: one code, one registry entry, one body
// in gates.cuh, and its lowering in Python.
#pragma once

#include "portable.cuh"

namespace qc {
namespace op {

// Field offsets within a row.
constexpr index_t kKind = 0;             // one of the kind codes below
constexpr index_t kNumTargets = 1;       // k: the op acts on 2^k amplitudes
constexpr index_t kNumSorted = 2;        // how many positions are in the sorted list
constexpr index_t kDataOffset = 3;       // first complex element of the op's data
constexpr index_t kDataBatchStride = 4;  // complex elements between batch entries (0: shared)
constexpr index_t kControlValue = 5;     // required values of the control bits, in place
constexpr index_t kTargetMask = 6;       // bit mask of the targets (run-time-size kinds)
constexpr index_t kTargets = 7;          // target positions, matrix bit order
constexpr index_t kSorted = 23;          // up to 64 sorted qubit positions
constexpr index_t kPermutation = 87;     // permuting kinds: image of each basis state
constexpr index_t kPhased = 91;          // permuting kinds: 1 if any phase differs from 1
constexpr index_t kOpWidth = 96;

// Kind codes.
constexpr index_t kDense = 0;
constexpr index_t kDiagonal = 1;
constexpr index_t kPermutationKind = 2;
constexpr index_t kWideDiagonal = 3;

}  // namespace op

// The kinds' bodies, defined in gates.cuh: templates on precision T and size K
// (K = 0 for a kind whose size is read from its row at run time).
template <typename T, int K>
struct DenseBody;
template <typename T, int K>
struct DiagonalBody;
template <typename T, int K>
struct PermutationBody;
template <typename T, int K>
struct WideDiagonalBody;

// One op kind: its code, its body, and what a row of the kind holds.
//   MaxTargets:     the most targets k an op of the kind has (the fewest is 1).
//   DataBits:       one state's data holds 2^(DataBits * k) complex entries
//                   (2: a 2^k x 2^k matrix, 1: one entry per basis state of the targets).
//   FixesTargets:   a work item owns the 2^k amplitudes the op mixes, so its sorted
//                   positions are the controls and the targets; otherwise an item owns
//                   one amplitude and only the controls are sorted positions.
//   Sized:          the body is instantiated for each k in 1..MaxTargets; otherwise once,
//                   with K = 0, reading k from the row, whose targets are then ascending
//                   and whose kTargetMask holds their mask.
//   Permutes:       the row holds the image of each basis state (kPermutation) and the
//                   kPhased flag.
template <index_t Code, template <typename, int> class Body, int MaxTargets, int DataBits,
          bool FixesTargets, bool Sized, bool Permutes>
struct OpKindEntry {
  static constexpr index_t kCode = Code;
  static constexpr int kMaxTargets = MaxTargets;
  static constexpr int kDataBits = DataBits;
  static constexpr bool kFixesTargets = FixesTargets;
  static constexpr bool kSized = Sized;
  static constexpr bool kPermutes = Permutes;
  template <typename T, int K>
  using BodyOf = Body<T, K>;

  static_assert(MaxTargets >= 1 && MaxTargets <= op::kSorted - op::kTargets,
                "the targets of a row must fit between kTargets and kSorted");
  static_assert(!Permutes || (1 << MaxTargets) <= op::kPhased - op::kPermutation,
                "the permutation of a row must fit between kPermutation and kPhased");
};

template <typename... Entries>
struct OpKindList {};

// The registry: one line per kind.
using OpKinds = OpKindList<
    //          code                   body              max  data  fixes  sized  permutes
    OpKindEntry<op::kDense,            DenseBody,        5,   2,    true,  true,  false>,
    OpKindEntry<op::kDiagonal,         DiagonalBody,     5,   1,    false, true,  false>,
    OpKindEntry<op::kPermutationKind,  PermutationBody,  2,   1,    true,  true,  true>,
    OpKindEntry<op::kWideDiagonal,     WideDiagonalBody, 16,  1,    false, false, false>>;

}  // namespace qc
