// The CPU extension's argument checks (declared in checks.hpp).
#include "checks.hpp"

#include <string>

#include "classical.cuh"
#include "expectation.cuh"
#include "op_layout.cuh"

namespace qc_cpu {

namespace {

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

}  // namespace

void check_states(int num_qubits, index_t batch, size_t size) {
  require(num_qubits >= 0 && num_qubits < 63, "num_qubits must be in [0, 62]");
  require(batch >= 1, "batch must be at least 1");
  require(static_cast<uindex_t>(size) == (static_cast<uindex_t>(batch) << num_qubits),
          "state array length must be batch * 2**num_qubits");
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
    require(opcode >= c::kPushConst && opcode <= c::kDraw, "unknown classical opcode");
    const bool pushes = opcode == c::kPushConst || opcode == c::kLoad || opcode == c::kDraw;
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

void check_choose_kraus(size_t rows_size, index_t row_width, size_t pieces_size,
                        size_t coefficients_size, int num_kraus, int num_pieces, index_t index_slot,
                        size_t scales_size) {
  const index_t batch = check_row_batch(rows_size, row_width);
  check_rows(batch, rows_size, row_width, index_slot);
  require(index_slot >= qc::cl::kFirstFreeSlot, "the Kraus index slot is one the engine keeps");
  require(num_kraus >= 1 && num_pieces >= 1, "a channel needs operators and pieces");
  require(pieces_size == static_cast<size_t>(num_pieces) * static_cast<size_t>(2 * batch),
          "pieces must have num_pieces * batch * 2 entries");
  require(coefficients_size == static_cast<size_t>(num_kraus) * static_cast<size_t>(2 * num_pieces),
          "coefficients must have num_kraus * num_pieces * 2 entries");
  require(scales_size == static_cast<size_t>(batch), "scales must have one entry per row");
}

void check_scale_states(int num_qubits, index_t batch, size_t states_size, size_t scales_size) {
  check_states(num_qubits, batch, states_size);
  require(scales_size == static_cast<size_t>(batch), "scales must have one entry per state");
}

void check_density_diagonal(int num_qubits, index_t batch, size_t densities_size, size_t states_size) {
  require(num_qubits >= 0 && num_qubits <= 31, "a density matrix must have 0 to 31 qubits");
  check_states(2 * num_qubits, batch, densities_size);
  check_states(num_qubits, batch, states_size);
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

}  // namespace qc_cpu
