// The CPU extension: OpenMP launchers over the per-item bodies in kernels/include and
// their nanobind binding. Each function releases the GIL, checks its arguments so that
// no call can read or write outside the arrays it was given, then runs its work items
// in an OpenMP parallel loop, the CPU counterpart of a CUDA grid-stride loop.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/tuple.h>

#include <complex>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "classical.cuh"
#include "dynamic.cuh"
#include "expectation.cuh"
#include "gates.cuh"
#include "measure.cuh"
#include "state.cuh"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace nb = nanobind;

namespace {

using qc::index_t;
using qc::uindex_t;

template <typename T>
using StateArray = nb::ndarray<std::complex<T>, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
template <typename T>
using ConstComplexArray = nb::ndarray<const std::complex<T>, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using OpArray = nb::ndarray<const qc::index_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using IndexArray = nb::ndarray<const qc::index_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using DoubleArray = nb::ndarray<double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using ConstDoubleArray = nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using SeedArray = nb::ndarray<const qc::uindex_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using OutcomeArray = nb::ndarray<qc::index_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using RowsArray = nb::ndarray<qc::index_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// Below this many work items a loop runs on the calling thread: a parallel region
// costs more than it saves.
constexpr index_t kMinParallelItems = 1 << 12;

void require(bool condition, const std::string& message) {
  if (!condition) {
    throw std::invalid_argument(message);
  }
}

// The widest vector instruction set this build of the extension was compiled for (the
// compiler vectorizes the kernel loops for it), and its register width in bits.
std::pair<std::string, int> simd_level() {
#if defined(__AVX512F__)
  return {"AVX-512", 512};
#elif defined(__AVX2__)
  return {"AVX2", 256};
#elif defined(__AVX__)
  return {"AVX", 256};
#elif defined(__SSE2__) || defined(_M_X64)
  return {"SSE2", 128};
#elif defined(__ARM_NEON)
  return {"NEON", 128};
#else
  return {"none", 0};
#endif
}

int resolve_threads(int num_threads) {
#if defined(_OPENMP)
  return num_threads > 0 ? num_threads : omp_get_max_threads();
#else
  (void)num_threads;
  return 1;
#endif
}

// Calls body(item) for every item in [0, num_items) on up to num_threads threads.
template <typename Body>
void parallel_items(index_t num_items, int num_threads, const Body& body) {
  const int threads = num_items >= kMinParallelItems ? resolve_threads(num_threads) : 1;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (index_t item = 0; item < num_items; ++item) {
    body(static_cast<uindex_t>(item));
  }
}

template <typename T>
qc::complex<T>* as_qc(std::complex<T>* pointer) {
  return reinterpret_cast<qc::complex<T>*>(pointer);
}

template <typename T>
const qc::complex<T>* as_qc(const std::complex<T>* pointer) {
  return reinterpret_cast<const qc::complex<T>*>(pointer);
}


// Argument checks. The CPU launchers below run them; the GPU's launch builders
// (devices/launches.py) call them through the module on the host copies of the same
// arguments before anything is enqueued, so both devices refuse the same calls alike.
void check_states(int num_qubits, index_t batch, size_t size) {
  require(num_qubits >= 0 && num_qubits < 63, "num_qubits must be in [0, 62]");
  require(batch >= 1, "batch must be at least 1");
  require(static_cast<uindex_t>(size) == (static_cast<uindex_t>(batch) << num_qubits),
          "state array length must be batch * 2**num_qubits");
}

// What the registry (op_layout.cuh) says of one kind.
struct KindLimits {
  bool known = false;
  index_t max_targets = 0;
  index_t data_bits = 0;
  bool sized = false;
  bool permutes = false;
};

template <typename... Entries>
KindLimits kind_limits(index_t code, qc::OpKindList<Entries...>) {
  KindLimits limits;
  ((code == Entries::kCode
        ? (limits = KindLimits{true, Entries::kMaxTargets, Entries::kDataBits, Entries::kSized,
                               Entries::kPermutes},
           true)
        : false) ||
   ...);
  return limits;
}

// Checks that one op row only names qubits below num_qubits and data inside `data_size`.
void check_op(const qc::index_t* op, int num_qubits, index_t batch, size_t data_size) {
  namespace o = qc::op;
  const KindLimits kind = kind_limits(op[o::kKind], qc::OpKinds{});
  const index_t k = op[o::kNumTargets];
  const index_t sorted = op[o::kNumSorted];
  require(kind.known, "unknown op kind");
  require(k >= 1 && k <= kind.max_targets, "op has an unsupported number of targets");
  require(sorted >= 0 && sorted <= num_qubits && sorted <= o::kPermutation - o::kSorted,
          "op has more sorted positions than qubits");
  index_t mask = 0;
  for (index_t j = 0; j < k; ++j) {
    require(op[o::kTargets + j] >= 0 && op[o::kTargets + j] < num_qubits, "op target out of range");
    require(kind.sized || j == 0 || op[o::kTargets + j] > op[o::kTargets + j - 1],
            "run-time-size op targets must be ascending");
    mask |= index_t{1} << op[o::kTargets + j];
  }
  require(kind.sized || op[o::kTargetMask] == mask, "target mask does not match targets");
  for (index_t j = 0; j < sorted; ++j) {
    require(op[o::kSorted + j] >= 0 && op[o::kSorted + j] < num_qubits, "op position out of range");
    require(j == 0 || op[o::kSorted + j] > op[o::kSorted + j - 1], "op positions must be sorted");
  }
  if (kind.permutes) {
    for (index_t j = 0; j < (index_t{1} << k); ++j) {
      require(op[o::kPermutation + j] >= 0 && op[o::kPermutation + j] < (index_t{1} << k),
              "op permutation out of range");
    }
  }
  const index_t entries = index_t{1} << (kind.data_bits * k);
  const index_t last = op[o::kDataOffset] + (batch - 1) * op[o::kDataBatchStride] + entries;
  require(op[o::kDataOffset] >= 0 && op[o::kDataBatchStride] >= 0 &&
              last <= static_cast<index_t>(data_size),
          "op data out of range");
}

// Checks that a program's rows each pass check_op.
void check_program(int num_qubits, index_t batch, OpArray ops, size_t data_size) {
  require(ops.shape(1) == static_cast<size_t>(qc::op::kOpWidth), "ops must have kOpWidth columns");
  for (size_t i = 0; i < ops.shape(0); ++i) {
    check_op(ops.data() + i * qc::op::kOpWidth, num_qubits, batch, data_size);
  }
}

void check_marginal(int num_qubits, index_t batch, IndexArray positions, IndexArray sorted_positions,
                    int chunk_bits, size_t partials_size) {
  const int measured = static_cast<int>(positions.size());
  require(sorted_positions.size() == positions.size(), "positions and sorted positions differ in length");
  require(chunk_bits >= 0 && measured + chunk_bits <= num_qubits, "chunk_bits out of range");
  for (int j = 0; j < measured; ++j) {
    require(positions.data()[j] >= 0 && positions.data()[j] < num_qubits, "measured position out of range");
    require(sorted_positions.data()[j] >= 0 && sorted_positions.data()[j] < num_qubits &&
                (j == 0 || sorted_positions.data()[j] > sorted_positions.data()[j - 1]),
            "sorted positions must be distinct, in range and ascending");
  }
  require(partials_size == (static_cast<size_t>(batch) << (measured + chunk_bits)),
          "partials must have batch * 2**(m + chunk_bits) entries");
}

void check_expectation(int num_qubits, index_t batch, OpArray passes, OpArray pieces,
                       int chunk_bits, size_t partials_size) {
  const index_t limit = index_t{1} << num_qubits;
  require(passes.shape(1) == 3 && pieces.shape(1) == 3, "passes and pieces must be rows of 3");
  require(chunk_bits >= 0 && chunk_bits <= num_qubits, "chunk_bits out of range");
  const index_t num_pieces = static_cast<index_t>(pieces.shape(0));
  index_t covered = 0;
  for (size_t p = 0; p < passes.shape(0); ++p) {
    const index_t* row = passes.data() + 3 * p;
    require(row[0] >= 0 && row[0] < limit, "a pass's flip mask must lie within the qubits");
    require(row[1] == covered, "passes must cover the pieces in order");
    require(row[2] >= 1 && row[2] <= qc::kPiecesPerPass, "a pass holds 1 to kPiecesPerPass pieces");
    covered += row[2];
  }
  require(covered == num_pieces, "passes must cover every piece");
  for (index_t k = 0; k < num_pieces; ++k) {
    const index_t* row = pieces.data() + 3 * k;
    require(row[0] >= 0 && row[0] < limit && row[1] >= 0 && row[1] < limit,
            "a piece's masks must lie within the qubits");
    require((row[2] & ~row[1]) == 0, "a piece's condition value must lie within its mask");
  }
  require(partials_size == ((static_cast<size_t>(num_pieces) * batch * 2) << chunk_bits),
          "partials must have pieces * batch * 2 * 2**chunk_bits entries");
}

void check_probabilities(size_t states_size, size_t probabilities_size) {
  require(probabilities_size == states_size, "probabilities must have one entry per amplitude");
}

void check_reduce(size_t partials_size, int chunk_bits, size_t sums_size) {
  require(chunk_bits >= 0 && chunk_bits < 63, "chunk_bits out of range");
  require(static_cast<uindex_t>(partials_size) == (static_cast<uindex_t>(sums_size) << chunk_bits),
          "partials must have len(sums) * 2**chunk_bits entries");
}

void check_sample(int num_measured, index_t shots, size_t batch, size_t cumulative_size,
                  size_t outcomes_size) {
  require(num_measured >= 0 && num_measured < 63, "num_measured out of range");
  require(shots >= 1, "shots must be at least 1");
  require(cumulative_size == (batch << num_measured), "cumulative must have len(seeds) * 2**m entries");
  require(outcomes_size == batch * static_cast<size_t>(shots), "outcomes must have len(seeds) * shots entries");
}

// Checks the rows of slots of a batch and a slot of them; slot < 0 names no slot (and
// then the rows may be any array).
void check_rows(index_t batch, size_t rows_size, index_t row_width, index_t slot) {
  if (slot < 0) {
    return;
  }
  require(row_width >= qc::cl::kFirstFreeSlot && slot < row_width, "slot outside the rows");
  require(static_cast<uindex_t>(rows_size) == static_cast<uindex_t>(batch) * row_width,
          "rows must have batch * row_width entries");
}

// Checks that `rows_size` slots are whole rows of `row_width`; returns their number.
index_t check_row_batch(size_t rows_size, index_t row_width) {
  require(row_width >= qc::cl::kFirstFreeSlot && rows_size % static_cast<size_t>(row_width) == 0,
          "rows must be whole rows of row_width slots");
  return static_cast<index_t>(rows_size) / row_width;
}

// Checks a classical program: known opcodes, slots inside a row (stores only above the
// engine's own slots), a stack that never underflows or grows past kStackDepth, and is
// empty at the end.
void check_classical(IndexArray code, index_t row_width) {
  namespace c = qc::cl;
  require(code.size() % 2 == 0, "a classical program is (opcode, operand) pairs");
  index_t depth = 0;
  for (size_t pc = 0; pc < code.size() / 2; ++pc) {
    const index_t opcode = code.data()[2 * pc];
    const index_t operand = code.data()[2 * pc + 1];
    require(opcode >= c::kPushConst && opcode <= c::kPop, "unknown classical opcode");
    const bool pushes = opcode == c::kPushConst || opcode == c::kLoad;
    const bool drops = opcode == c::kStore || opcode == c::kPop;
    const bool unary = opcode >= c::kMaskWidth && opcode <= c::kNegate;
    const index_t needed = pushes ? 0 : (drops || unary || opcode == c::kDup ? 1 : 2);
    require(depth >= needed, "classical program pops an empty stack");
    if (opcode == c::kLoad || opcode == c::kStore) {
      require(operand >= 0 && operand < row_width, "classical program names a slot outside the row");
    }
    require(opcode != c::kStore || operand >= c::kFirstFreeSlot,
            "classical program stores into a slot the engine keeps");
    require(opcode != c::kMaskWidth || (operand >= 0 && operand <= 64), "mask width out of range");
    depth += pushes || opcode == c::kDup ? 1 : (drops ? -1 : (unary ? 0 : -1));
    require(depth <= c::kStackDepth, "classical program is deeper than the stack");
  }
  require(depth == 0, "classical program leaves values on the stack");
}

void check_collapse(int num_qubits, index_t batch, size_t states_size, int qubit,
                    size_t probabilities_size, size_t rows_size, index_t row_width) {
  check_states(num_qubits, batch, states_size);
  require(num_qubits >= 1 && qubit >= 0 && qubit < num_qubits, "qubit out of range");
  require(probabilities_size == static_cast<size_t>(2 * batch), "probabilities must have 2 * batch entries");
  check_rows(batch, rows_size, row_width, qc::cl::kOutcomeSlot);
}

void check_gather(int num_qubits, size_t source_size, size_t branches_size, IndexArray sources) {
  require(num_qubits >= 0 && num_qubits < 63, "num_qubits must be in [0, 62]");
  const uindex_t states = static_cast<uindex_t>(source_size) >> num_qubits;
  require(static_cast<uindex_t>(branches_size) == (static_cast<uindex_t>(sources.size()) << num_qubits),
          "branches must have len(sources) states");
  for (size_t j = 0; j < sources.size(); ++j) {
    require(sources.data()[j] >= 0 && static_cast<uindex_t>(sources.data()[j]) < states,
            "a branch's source state is out of range");
  }
}

void check_sample_shots(int num_measured, size_t cumulative_size, IndexArray shot_states,
                        size_t shot_numbers_size, size_t rows_size, index_t row_width,
                        size_t outcomes_size) {
  require(num_measured >= 0 && num_measured < 63, "num_measured out of range");
  const uindex_t states = static_cast<uindex_t>(cumulative_size) >> num_measured;
  require(static_cast<uindex_t>(cumulative_size) == (states << num_measured),
          "cumulative must hold whole rows of 2**m entries");
  check_rows(static_cast<index_t>(states), rows_size, row_width, qc::cl::kCounterSlot);
  require(shot_numbers_size == shot_states.size() && outcomes_size == shot_states.size(),
          "shot states, shot numbers and outcomes differ in length");
  for (size_t j = 0; j < shot_states.size(); ++j) {
    require(shot_states.data()[j] >= 0 && static_cast<uindex_t>(shot_states.data()[j]) < states,
            "a shot's state is out of range");
  }
}

// Op launchers. Local items below an op's lowest sorted position map to consecutive
// amplitudes, so items are handed to the bodies in runs of up to 2^kMaxRunBits: the
// bit insertion, target offsets and a split copy of the op's data are computed once
// per run (or once per op), and each body's loop over a run runs in SIMD lanes. An op
// whose lowest sorted position is low (a low target or control) has runs too short
// to vectorize: its items go in tiles of 2^TileBits items at arbitrary positions, which
// the dense body transposes so that the SIMD lanes run across items.
constexpr int kMaxRunBits = 10;
constexpr int kMinRunBits = 3;

// SIMD width the CPU extension is compiled for, in bytes.
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#elif defined(__AVX__)
constexpr int kVectorBytes = 32;
#else
constexpr int kVectorBytes = 16;
#endif

constexpr int log2_of(int value) { return value <= 1 ? 0 : 1 + log2_of(value / 2); }

// Calls run(state, base, count, entries) over the items of one op, on a batch of states,
// in runs of 2^b consecutive items (min_run_bits <= b <= kMaxRunBits), or, when the op's
// lowest sorted position is below min_run_bits, tile(state, bases, entries) over tiles
// of 2^TileBits items. `entries` is the op's data for the state's batch entry as
// SplitEntries<T, N>.
template <typename T, int N, int TileBits, typename Run, typename Tile>
void launch_op(qc::complex<T>* states, int num_qubits, index_t batch, const qc::index_t* op,
               const qc::complex<T>* data, qc::ActiveMask mask, int num_threads,
               int min_run_bits, const Run& run, const Tile& tile) {
  namespace o = qc::op;
  constexpr int kTileItems = 1 << TileBits;
  const int num_sorted = static_cast<int>(op[o::kNumSorted]);
  const int free_bits = num_qubits - num_sorted;
  const int lowest = num_sorted > 0 ? static_cast<int>(op[o::kSorted]) : num_qubits;
  const index_t items = batch << free_bits;
  const int threads = items >= kMinParallelItems ? resolve_threads(num_threads) : 1;
  const bool use_runs = lowest >= min_run_bits || free_bits < TileBits;
  const int group_bits = use_runs ? (lowest < kMaxRunBits ? lowest : kMaxRunBits) : TileBits;
  const int groups_bits = free_bits - group_bits;  // groups per batch entry, log2
  const index_t groups = batch << groups_bits;
  const uindex_t group_mask = (uindex_t{1} << groups_bits) - 1;
  const index_t stride = op[o::kDataBatchStride];
  const qc::complex<T>* first_data = data + op[o::kDataOffset];
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    qc::SplitEntries<T, N> entries;
    index_t loaded = -1;
#pragma omp for schedule(static)
    for (index_t group = 0; group < groups; ++group) {
      const index_t entry = group >> groups_bits;
      if (!mask.active(static_cast<uindex_t>(entry))) {
        continue;
      }
      const index_t key = stride == 0 ? 0 : entry;
      if (key != loaded) {
        entries.load(first_data + key * stride);
        loaded = key;
      }
      qc::complex<T>* state = states + (static_cast<uindex_t>(entry) << num_qubits);
      const uindex_t first_item = (static_cast<uindex_t>(group) & group_mask) << group_bits;
      if (use_runs) {
        run(state, qc::item_base_index(first_item, op), uindex_t{1} << group_bits, entries);
      } else {
        uindex_t bases[kTileItems];
        for (int w = 0; w < kTileItems; ++w) {
          bases[w] = qc::item_base_index(first_item + w, op);
        }
        tile(state, bases, entries);
      }
    }
  }
}

// Runs one op of a sized kind through its body's Plan, apply_run and apply_tile.
template <typename Body, typename T>
void run_sized_op(qc::complex<T>* states, int num_qubits, index_t batch, const qc::index_t* op,
                  const qc::complex<T>* data, qc::ActiveMask mask, int num_threads) {
  using Entries = qc::SplitEntries<T, Body::kEntries>;
  // Tiles of W items, one SIMD vector wide.
  constexpr int W = kVectorBytes / static_cast<int>(sizeof(T));
  constexpr int kTileBits = log2_of(W);
  const typename Body::Plan plan(op);
  const auto tile = [&](qc::complex<T>* state, const uindex_t* bases, const Entries& entries) {
    Body::template apply_tile<W>(state, 0, bases, plan, entries);
  };
  if constexpr (!Body::kRunsAsTiles) {
    launch_op<T, Body::kEntries, kTileBits>(
        states, num_qubits, batch, op, data, mask, num_threads, kMinRunBits,
        [&](qc::complex<T>* state, uindex_t base, uindex_t count, const Entries& entries) {
          Body::apply_run(state, base, count, plan, entries);
        },
        tile);
  } else {
    launch_op<T, Body::kEntries, kTileBits>(
        states, num_qubits, batch, op, data, mask, num_threads, kTileBits,
        [&](qc::complex<T>* state, uindex_t base, uindex_t count, const Entries& entries) {
          if (count < static_cast<uindex_t>(W)) {  // only for states of a few qubits
            Body::apply_run(state, base, count, plan, entries);
            return;
          }
          for (uindex_t first = 0; first < count; first += W) {
            Body::template apply_tile<W>(state, base + first, nullptr, plan, entries);
          }
        },
        tile);
  }
}

// Runs one op of a run-time-size kind: its body's per-item apply, as on the GPU.
template <typename Body, typename T>
void run_item_op(qc::complex<T>* states, int num_qubits, index_t batch, const qc::index_t* op,
                 const qc::complex<T>* data, qc::ActiveMask mask, int num_threads) {
  const int free_bits = num_qubits - static_cast<int>(op[qc::op::kNumSorted]);
  parallel_items(batch << free_bits, num_threads, [&](uindex_t item) {
    if (mask.active(item >> free_bits)) {
      qc::apply_op_item<Body>(states, num_qubits, item, op, data);
    }
  });
}

// Runs one op of kind Entry: the body instantiated for the op's size (K in
// 1..kMaxTargets), or the run-time-size body.
template <typename T, typename Entry, int... Ks>
bool run_kind(std::integer_sequence<int, Ks...>, qc::complex<T>* states, int num_qubits,
              index_t batch, const qc::index_t* op, const qc::complex<T>* data,
              qc::ActiveMask mask, int num_threads) {
  if constexpr (!Entry::kSized) {
    run_item_op<typename Entry::template BodyOf<T, 0>>(states, num_qubits, batch, op, data, mask,
                                                       num_threads);
    return true;
  } else {
    const index_t k = op[qc::op::kNumTargets];
    return ((k == Ks + 1 ? (run_sized_op<typename Entry::template BodyOf<T, Ks + 1>>(
                                states, num_qubits, batch, op, data, mask, num_threads),
                            true)
                         : false) ||
            ...);
  }
}

// Dispatches one op row to its kind's launcher, by walking the registry.
template <typename T, typename... Entries>
void run_op_of(qc::OpKindList<Entries...>, qc::complex<T>* states, int num_qubits, index_t batch,
               const qc::index_t* op, const qc::complex<T>* data, qc::ActiveMask mask,
               int num_threads) {
  const index_t code = op[qc::op::kKind];
  const bool ran = ((code == Entries::kCode &&
                     run_kind<T, Entries>(std::make_integer_sequence<int, Entries::kMaxTargets>{},
                                          states, num_qubits, batch, op, data, mask,
                                          num_threads)) ||
                    ...);
  if (!ran) {
    throw std::invalid_argument("op has an unsupported kind or number of targets");
  }
}

template <typename T>
void run_op(qc::complex<T>* states, int num_qubits, index_t batch, const qc::index_t* op,
            const qc::complex<T>* data, qc::ActiveMask mask, int num_threads) {
  run_op_of<T>(qc::OpKinds{}, states, num_qubits, batch, op, data, mask, num_threads);
}

// States up to this size run a whole program per thread, one batch entry at a time,
// while they stay in the core's cache; larger ones run each op across all threads.
constexpr size_t kCacheResidentStateBytes = size_t{1} << 18;

// Runs a whole program (one op per row of `ops`) on the states of a batch that
// `mask_slot` of their rows marks active (every state when mask_slot < 0), in one call.
template <typename T>
void run_program(StateArray<T> states, int num_qubits, index_t batch, OpArray ops,
                 ConstComplexArray<T> data, IndexArray rows, index_t row_width,
                 index_t mask_slot, int num_threads) {
  check_states(num_qubits, batch, states.size());
  check_program(num_qubits, batch, ops, data.size());
  check_rows(batch, rows.size(), row_width, mask_slot);
  const qc::ActiveMask mask{rows.data(), row_width, mask_slot};
  const qc::ActiveMask everything{nullptr, 0, -1};
  const index_t num_ops = static_cast<index_t>(ops.shape(0));
  nb::gil_scoped_release release;
  qc::complex<T>* state_data = as_qc(states.data());
  const qc::complex<T>* op_data = as_qc(data.data());
  const qc::index_t* op_rows = ops.data();
  if (batch > 1 && (sizeof(qc::complex<T>) << num_qubits) <= kCacheResidentStateBytes) {
    const int threads = resolve_threads(num_threads);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (index_t entry = 0; entry < batch; ++entry) {
      if (!mask.active(static_cast<uindex_t>(entry))) {
        continue;
      }
      for (index_t i = 0; i < num_ops; ++i) {
        const qc::index_t* op = op_rows + i * qc::op::kOpWidth;
        run_op<T>(state_data + (static_cast<uindex_t>(entry) << num_qubits), num_qubits, 1, op,
                  op_data + entry * op[qc::op::kDataBatchStride], everything, 1);
      }
    }
    return;
  }
  for (index_t i = 0; i < num_ops; ++i) {
    run_op<T>(state_data, num_qubits, batch, op_rows + i * qc::op::kOpWidth, op_data, mask,
              num_threads);
  }
}

template <typename T>
void set_zero_state(StateArray<T> states, int num_qubits, index_t batch, int num_threads) {
  check_states(num_qubits, batch, states.size());
  nb::gil_scoped_release release;
  qc::complex<T>* state_data = as_qc(states.data());
  parallel_items(static_cast<index_t>(states.size()), num_threads,
                 [&](uindex_t item) { qc::set_zero_state(state_data, num_qubits, item); });
}

template <typename T>
void marginal_partials(StateArray<T> states, int num_qubits, index_t batch, IndexArray positions,
                       IndexArray sorted_positions, int chunk_bits, DoubleArray partials,
                       int num_threads) {
  check_states(num_qubits, batch, states.size());
  check_marginal(num_qubits, batch, positions, sorted_positions, chunk_bits, partials.size());
  const int measured = static_cast<int>(positions.size());
  const index_t items = batch << (measured + chunk_bits);
  nb::gil_scoped_release release;
  const qc::complex<T>* state_data = as_qc(states.data());
  const qc::index_t* position_data = positions.data();
  const qc::index_t* sorted_data = sorted_positions.data();
  double* out = partials.data();
  parallel_items(items, num_threads, [&](uindex_t item) {
    out[item] = qc::marginal_partial(state_data, num_qubits, item, position_data, sorted_data,
                                     measured, chunk_bits);
  });
}

template <typename T>
void expectation_partials(ConstComplexArray<T> states, int num_qubits, index_t batch,
                          OpArray passes, OpArray pieces, int chunk_bits, DoubleArray partials,
                          int num_threads) {
  check_states(num_qubits, batch, states.size());
  check_expectation(num_qubits, batch, passes, pieces, chunk_bits, partials.size());
  nb::gil_scoped_release release;
  const qc::complex<T>* state_data = as_qc(states.data());
  const qc::index_t* pass_data = passes.data();
  const qc::index_t* piece_data = pieces.data();
  double* out = partials.data();
  const uindex_t num_passes = static_cast<uindex_t>(passes.shape(0));
  const index_t items = (static_cast<index_t>(num_passes) * batch) << chunk_bits;
  parallel_items(items, num_threads, [&](uindex_t item) {
    qc::expectation_partials(state_data, num_qubits, static_cast<uindex_t>(batch), num_passes,
                             item, pass_data, piece_data, chunk_bits, out);
  });
}

template <typename T>
void probabilities(StateArray<T> states, DoubleArray out, int num_threads) {
  check_probabilities(states.size(), out.size());
  nb::gil_scoped_release release;
  const qc::complex<T>* state_data = as_qc(states.data());
  double* result = out.data();
  parallel_items(static_cast<index_t>(states.size()), num_threads,
                 [&](uindex_t item) { result[item] = qc::probability(state_data, item); });
}

void reduce_partials(ConstDoubleArray partials, int chunk_bits, DoubleArray sums, int num_threads) {
  check_reduce(partials.size(), chunk_bits, sums.size());
  nb::gil_scoped_release release;
  const double* in = partials.data();
  double* out = sums.data();
  parallel_items(static_cast<index_t>(sums.size()), num_threads,
                 [&](uindex_t item) { out[item] = qc::reduce_partials(in, item, chunk_bits); });
}

void sample(ConstDoubleArray cumulative, int num_measured, index_t shots, SeedArray seeds,
            OutcomeArray outcomes, int num_threads) {
  check_sample(num_measured, shots, seeds.size(), cumulative.size(), outcomes.size());
  nb::gil_scoped_release release;
  const double* rows = cumulative.data();
  const uindex_t* seed_data = seeds.data();
  qc::index_t* out = outcomes.data();
  parallel_items(static_cast<index_t>(outcomes.size()), num_threads, [&](uindex_t item) {
    out[item] = qc::sample_outcome(rows, num_measured, item, static_cast<uindex_t>(shots),
                                   seed_data);
  });
}

void classical(RowsArray rows, index_t row_width, IndexArray code, index_t mask_slot,
               int num_threads) {
  const index_t batch = check_row_batch(rows.size(), row_width);
  check_rows(batch, rows.size(), row_width, mask_slot);
  check_classical(code, row_width);
  nb::gil_scoped_release release;
  const qc::ActiveMask mask{rows.data(), row_width, mask_slot};
  qc::index_t* row_data = rows.data();
  const qc::index_t* code_data = code.data();
  const index_t length = static_cast<index_t>(code.size() / 2);
  parallel_items(batch, num_threads, [&](uindex_t item) {
    if (mask.active(item)) {
      qc::run_classical(row_data + item * static_cast<uindex_t>(row_width), code_data, length);
    }
  });
}

void decide_outcomes(RowsArray rows, index_t row_width, ConstDoubleArray probabilities,
                     uindex_t seed, index_t clbit_slot, index_t mask_slot, int num_threads) {
  const index_t batch = check_row_batch(rows.size(), row_width);
  check_rows(batch, rows.size(), row_width, mask_slot);
  check_rows(batch, rows.size(), row_width, clbit_slot);
  require(probabilities.size() == static_cast<size_t>(2 * batch), "probabilities must have 2 * batch entries");
  nb::gil_scoped_release release;
  const qc::ActiveMask mask{rows.data(), row_width, mask_slot};
  qc::index_t* row_data = rows.data();
  const double* weights = probabilities.data();
  parallel_items(batch, num_threads, [&](uindex_t item) {
    qc::decide_outcome(row_data, row_width, item, weights, seed, clbit_slot, mask);
  });
}

template <typename T>
void collapse(StateArray<T> states, int num_qubits, index_t batch, int qubit,
              ConstDoubleArray probabilities, IndexArray rows, index_t row_width, bool reset,
              index_t mask_slot, int num_threads) {
  check_collapse(num_qubits, batch, states.size(), qubit, probabilities.size(), rows.size(), row_width);
  check_rows(batch, rows.size(), row_width, mask_slot);
  nb::gil_scoped_release release;
  const qc::ActiveMask mask{rows.data(), row_width, mask_slot};
  qc::complex<T>* state_data = as_qc(states.data());
  const double* weights = probabilities.data();
  const qc::index_t* row_data = rows.data();
  parallel_items(batch << (num_qubits - 1), num_threads, [&](uindex_t item) {
    qc::collapse_pair(state_data, num_qubits, item, qubit, weights, row_data, row_width, reset, mask);
  });
}

template <typename T>
void gather(ConstComplexArray<T> source, StateArray<T> branches, int num_qubits, IndexArray sources,
            int num_threads) {
  check_gather(num_qubits, source.size(), branches.size(), sources);
  nb::gil_scoped_release release;
  const qc::complex<T>* source_data = as_qc(source.data());
  qc::complex<T>* branch_data = as_qc(branches.data());
  const qc::index_t* source_index = sources.data();
  parallel_items(static_cast<index_t>(branches.size()), num_threads, [&](uindex_t item) {
    qc::gather_amplitude(source_data, branch_data, num_qubits, item, source_index);
  });
}

void sample_shots(ConstDoubleArray cumulative, int num_measured, IndexArray shot_states,
                  IndexArray shot_numbers, IndexArray rows, index_t row_width, uindex_t seed,
                  OutcomeArray outcomes, int num_threads) {
  check_sample_shots(num_measured, cumulative.size(), shot_states, shot_numbers.size(), rows.size(),
                     row_width, outcomes.size());
  nb::gil_scoped_release release;
  const double* table = cumulative.data();
  const qc::index_t* states = shot_states.data();
  const qc::index_t* numbers = shot_numbers.data();
  const qc::index_t* row_data = rows.data();
  qc::index_t* out = outcomes.data();
  parallel_items(static_cast<index_t>(outcomes.size()), num_threads, [&](uindex_t item) {
    out[item] = qc::sample_shot(table, num_measured, item, states, numbers, row_data, row_width, seed);
  });
}

using RegistryRow = std::tuple<index_t, int, int, bool, bool, bool>;

template <typename... Entries>
std::vector<RegistryRow> registry_rows(qc::OpKindList<Entries...>) {
  return {RegistryRow{Entries::kCode, Entries::kMaxTargets, Entries::kDataBits,
                      Entries::kFixesTargets, Entries::kSized, Entries::kPermutes}...};
}

template <typename T>
void bind_precision(nb::module_& module) {
  module.def("run_program", &run_program<T>, nb::arg("states").noconvert(), nb::arg("num_qubits"),
             nb::arg("batch"), nb::arg("ops"), nb::arg("data"), nb::arg("rows"),
             nb::arg("row_width"), nb::arg("mask_slot"), nb::arg("num_threads"),
             "Apply every op row of `ops`, in order, to the active states of a batch.");
  module.def("collapse", &collapse<T>, nb::arg("states").noconvert(), nb::arg("num_qubits"), nb::arg("batch"),
             nb::arg("qubit"), nb::arg("probabilities"), nb::arg("rows"), nb::arg("row_width"),
             nb::arg("reset"), nb::arg("mask_slot"), nb::arg("num_threads"),
             "Collapse (or reset) one qubit of each active state to its row's outcome.");
  module.def("gather", &gather<T>, nb::arg("source"), nb::arg("branches").noconvert(), nb::arg("num_qubits"),
             nb::arg("sources"), nb::arg("num_threads"), "Copy state sources[j] to branch j.");
  module.def("set_zero_state", &set_zero_state<T>, nb::arg("states").noconvert(), nb::arg("num_qubits"),
             nb::arg("batch"), nb::arg("num_threads"), "Set every state of a batch to |0...0>.");
  module.def("marginal_partials", &marginal_partials<T>, nb::arg("states"), nb::arg("num_qubits"),
             nb::arg("batch"), nb::arg("positions"), nb::arg("sorted_positions"),
             nb::arg("chunk_bits"), nb::arg("partials").noconvert(), nb::arg("num_threads"),
             "Chunked partial sums of the marginal probabilities of `positions`.");
  module.def("expectation_partials", &expectation_partials<T>, nb::arg("states"),
             nb::arg("num_qubits"), nb::arg("batch"), nb::arg("passes"), nb::arg("pieces"),
             nb::arg("chunk_bits"), nb::arg("partials").noconvert(), nb::arg("num_threads"),
             "Chunked partial sums of each observable piece, pass by pass, per state.");
  module.def("probabilities", &probabilities<T>, nb::arg("states"), nb::arg("probabilities").noconvert(),
             nb::arg("num_threads"), "|amplitude|^2 of every amplitude of a batch of states.");
}

}  // namespace

NB_MODULE(_cpu, module) {
  module.doc() = "qiskit-cupy CPU kernels: the shared kernel bodies run under OpenMP.";
  bind_precision<double>(module);
  bind_precision<float>(module);
  module.def("reduce_partials", &reduce_partials, nb::arg("partials"), nb::arg("chunk_bits"),
             nb::arg("sums").noconvert(), nb::arg("num_threads"), "Sum each run of 2**chunk_bits partials.");
  module.def("sample", &sample, nb::arg("cumulative"), nb::arg("num_measured"), nb::arg("shots"),
             nb::arg("seeds"), nb::arg("outcomes").noconvert(), nb::arg("num_threads"),
             "Draw `shots` outcomes per row of cumulative probabilities.");
  module.def("classical", &classical, nb::arg("rows").noconvert(), nb::arg("row_width"), nb::arg("code"),
             nb::arg("mask_slot"), nb::arg("num_threads"),
             "Run a classical program on each active row of slots.");
  module.def("decide_outcomes", &decide_outcomes, nb::arg("rows").noconvert(), nb::arg("row_width"),
             nb::arg("probabilities"), nb::arg("seed"), nb::arg("clbit_slot"), nb::arg("mask_slot"),
             nb::arg("num_threads"), "Draw each active state's measurement outcome.");
  module.def("sample_shots", &sample_shots, nb::arg("cumulative"), nb::arg("num_measured"),
             nb::arg("shot_states"), nb::arg("shot_numbers"), nb::arg("rows"), nb::arg("row_width"),
             nb::arg("seed"), nb::arg("outcomes").noconvert(), nb::arg("num_threads"),
             "Draw each shot's terminal outcome from its state's cumulative distribution.");
  module.def("trajectory_draw", &qc::trajectory_draw, nb::arg("seed"), nb::arg("shot"),
             nb::arg("counter"), "The uniform draw `counter` of shot `shot` under `seed`.");
  module.def("check_row_batch", &check_row_batch, nb::arg("rows_size"), nb::arg("row_width"),
             "Raise ValueError unless the slots are whole rows; return their number.");
  module.def("check_rows", &check_rows, nb::arg("batch"), nb::arg("rows_size"),
             nb::arg("row_width"), nb::arg("slot"), "Raise ValueError unless the rows hold the slot.");
  module.def("check_classical", &check_classical, nb::arg("code"), nb::arg("row_width"),
             "Raise ValueError unless the classical program is safe to run on rows of that width.");
  module.def("check_collapse", &check_collapse, nb::arg("num_qubits"), nb::arg("batch"),
             nb::arg("states_size"), nb::arg("qubit"), nb::arg("probabilities_size"),
             nb::arg("rows_size"), nb::arg("row_width"), "Raise ValueError unless collapse's arguments fit.");
  module.def("check_gather", &check_gather, nb::arg("num_qubits"), nb::arg("source_size"),
             nb::arg("branches_size"), nb::arg("sources"), "Raise ValueError unless gather's arguments fit.");
  module.def("check_sample_shots", &check_sample_shots, nb::arg("num_measured"),
             nb::arg("cumulative_size"), nb::arg("shot_states"), nb::arg("shot_numbers_size"),
             nb::arg("rows_size"), nb::arg("row_width"), nb::arg("outcomes_size"),
             "Raise ValueError unless sample_shots' arguments fit.");
  module.def("op_kinds", []() { return registry_rows(qc::OpKinds{}); },
             "The op-kind registry as compiled: (code, max targets, data bits, fixes targets, "
             "sized, permutes) per kind.");
  module.def("simd", &simd_level,
             "The vector instruction set the extension was compiled for and its width in bits.");
  module.def("max_threads", []() { return resolve_threads(0); },
             "The number of threads a call uses when num_threads is 0.");
  module.def("check_states", &check_states, nb::arg("num_qubits"), nb::arg("batch"),
             nb::arg("size"), "Raise ValueError unless `size` amplitudes are `batch` states.");
  module.def("check_program", &check_program, nb::arg("num_qubits"), nb::arg("batch"),
             nb::arg("ops"), nb::arg("data_size"),
             "Raise ValueError unless every op row stays inside the states and the data.");
  module.def("check_marginal", &check_marginal, nb::arg("num_qubits"), nb::arg("batch"),
             nb::arg("positions"), nb::arg("sorted_positions"), nb::arg("chunk_bits"),
             nb::arg("partials_size"), "Raise ValueError unless marginal_partials' arguments fit.");
  module.def("check_expectation", &check_expectation, nb::arg("num_qubits"), nb::arg("batch"),
             nb::arg("passes"), nb::arg("pieces"), nb::arg("chunk_bits"), nb::arg("partials_size"),
             "Raise ValueError unless expectation_partials' arguments fit.");
  module.def("check_probabilities", &check_probabilities, nb::arg("states_size"),
             nb::arg("probabilities_size"), "Raise ValueError unless the sizes match.");
  module.def("check_reduce", &check_reduce, nb::arg("partials_size"), nb::arg("chunk_bits"),
             nb::arg("sums_size"), "Raise ValueError unless reduce_partials' sizes fit.");
  module.def("check_sample", &check_sample, nb::arg("num_measured"), nb::arg("shots"),
             nb::arg("batch"), nb::arg("cumulative_size"), nb::arg("outcomes_size"),
             "Raise ValueError unless sample's arguments fit.");
}
