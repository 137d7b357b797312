// The classical side of a dynamic circuit, on the device: each trajectory (or branch)
// keeps its classical bits, real-time variables and activity masks in one row of
// int64 slots, and a small stack machine evaluates conditions and stores on that row.
//
// A classical program is an array of (opcode, operand) pairs of 64-bit integers.
// Python (qiskit_cupy/compiler/classical.py) reads the opcodes below from this file's
// text, each on its own line as `constexpr index_t kName = value;`, as it reads the op
// layout. Values are unsigned 64-bit integers; booleans are 0 and 1.
#pragma once

#include "measure.cuh"

namespace qc {
namespace cl {

// Slots every row begins with.
constexpr index_t kCounterSlot = 0;  // measurements this trajectory has drawn so far
constexpr index_t kShotSlot = 1;     // the shot number that keys this trajectory's draws
constexpr index_t kOutcomeSlot = 2;  // outcome of the latest measurement (collapse reads it)
constexpr index_t kSeedSlot = 3;     // the experiment's seed, which keys every draw with the shot
constexpr index_t kFirstFreeSlot = 4;

// Opcodes; the operand is ignored where none is named.
constexpr index_t kPushConst = 0;   // push operand
constexpr index_t kLoad = 1;        // push slot[operand]
constexpr index_t kStore = 2;       // slot[operand] = pop
constexpr index_t kMaskWidth = 3;   // top &= 2^operand - 1 (operand < 64)
constexpr index_t kBitNot = 4;      // top = ~top
constexpr index_t kLogicNot = 5;    // top = !top
constexpr index_t kNegate = 6;      // top = -top (two's complement)
constexpr index_t kBitAnd = 7;      // binary ops pop b, then a, and push a op b
constexpr index_t kBitOr = 8;
constexpr index_t kBitXor = 9;
constexpr index_t kLogicAnd = 10;
constexpr index_t kLogicOr = 11;
constexpr index_t kEqual = 12;
constexpr index_t kNotEqual = 13;
constexpr index_t kLess = 14;
constexpr index_t kLessEqual = 15;
constexpr index_t kGreater = 16;
constexpr index_t kGreaterEqual = 17;
constexpr index_t kShiftLeft = 18;  // a << b, 0 once b >= 64
constexpr index_t kShiftRight = 19;
constexpr index_t kAdd = 20;
constexpr index_t kSub = 21;
constexpr index_t kMul = 22;
constexpr index_t kDiv = 23;        // a / b, 0 where b = 0
constexpr index_t kBitIndex = 24;   // (a >> b) & 1, 0 once b >= 64
constexpr index_t kDup = 25;        // push top
constexpr index_t kPop = 26;        // drop top
constexpr index_t kDraw = 27;       // push the row's next draw as 53 bits (u * 2^53), count it

// Deepest stack a program may use; the compiler refuses deeper expressions.
constexpr index_t kStackDepth = 32;

}  // namespace cl

// Which states of a batch an op applies to: those whose row of slots holds a nonzero
// value in `slot`; every state when slot < 0 (an op outside any classical condition).
struct ActiveMask {
  const index_t* rows;
  index_t row_width;
  index_t slot;
  QC_HD bool active(uindex_t entry) const {
    return slot < 0 || rows[entry * static_cast<uindex_t>(row_width) + slot] != 0;
  }
};

QC_HD uindex_t shift_left(uindex_t a, uindex_t b) { return b >= 64 ? 0 : a << b; }
QC_HD uindex_t shift_right(uindex_t a, uindex_t b) { return b >= 64 ? 0 : a >> b; }

QC_HD uindex_t binary_op(index_t opcode, uindex_t a, uindex_t b) {
  namespace c = cl;
  switch (opcode) {
    case c::kBitAnd: return a & b;
    case c::kBitOr: return a | b;
    case c::kBitXor: return a ^ b;
    case c::kLogicAnd: return (a != 0) && (b != 0);
    case c::kLogicOr: return (a != 0) || (b != 0);
    case c::kEqual: return a == b;
    case c::kNotEqual: return a != b;
    case c::kLess: return a < b;
    case c::kLessEqual: return a <= b;
    case c::kGreater: return a > b;
    case c::kGreaterEqual: return a >= b;
    case c::kShiftLeft: return shift_left(a, b);
    case c::kShiftRight: return shift_right(a, b);
    case c::kAdd: return a + b;
    case c::kSub: return a - b;
    case c::kMul: return a * b;
    case c::kDiv: return b == 0 ? 0 : a / b;
    case c::kBitIndex: return shift_right(a, b) & 1;
    default: return 0;
  }
}

// Runs a classical program on one row of slots. The program was checked on the host
// (check_classical in kernels/cpu/checks.cpp): every slot in range, the stack within kStackDepth.
QC_HD void run_classical(index_t* row, const index_t* code, index_t length) {
  namespace c = cl;
  uindex_t stack[c::kStackDepth];
  int top = -1;
  for (index_t pc = 0; pc < length; ++pc) {
    const index_t opcode = code[2 * pc];
    const index_t operand = code[2 * pc + 1];
    switch (opcode) {
      case c::kPushConst: stack[++top] = static_cast<uindex_t>(operand); break;
      case c::kLoad: stack[++top] = static_cast<uindex_t>(row[operand]); break;
      case c::kStore: row[operand] = static_cast<index_t>(stack[top--]); break;
      case c::kMaskWidth: stack[top] &= shift_left(1, static_cast<uindex_t>(operand)) - 1; break;
      case c::kBitNot: stack[top] = ~stack[top]; break;
      case c::kLogicNot: stack[top] = stack[top] == 0; break;
      case c::kNegate: stack[top] = uindex_t{0} - stack[top]; break;
      case c::kDup: stack[top + 1] = stack[top]; ++top; break;
      case c::kPop: --top; break;
      case c::kDraw:
        stack[++top] = static_cast<uindex_t>(
            trajectory_draw(static_cast<uindex_t>(row[c::kSeedSlot]), static_cast<uindex_t>(row[c::kShotSlot]),
                            static_cast<uindex_t>(row[c::kCounterSlot])) *
            9007199254740992.0);
        row[c::kCounterSlot] += 1;
        break;
      default:
        stack[top - 1] = binary_op(opcode, stack[top - 1], stack[top]);
        --top;
        break;
    }
  }
}

}  // namespace qc
