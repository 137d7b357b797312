// The CPU launcher of whole programs: every op row of a program applied to a batch of
// states. Its definition (program_launchers.hpp) is the heaviest code of the extension
// to compile, so each precision is instantiated in a translation unit of its own
// (program_double.cpp, program_float.cpp) and the build compiles them in parallel.
#pragma once

#include "common.hpp"

namespace qc_cpu {

// Runs a whole program (one op per row of `ops`) on the states of a batch that
// `mask_slot` of their rows marks active (every state when mask_slot < 0), in one call.
// Runs of consecutive ops whose qubits all lie below block_bits are applied block by
// block of 2^block_bits amplitudes, one pass over memory per run (negative: blocks of
// half a core's L2 cache, cache_block_bits; 0, or a width the state does not exceed:
// op by op).
template <typename T>
void run_program(StateArray<T> states, int num_qubits, index_t batch, OpArray ops,
                 ConstComplexArray<T> data, IndexArray rows, index_t row_width,
                 index_t mask_slot, int num_threads, int block_bits);

// The passes over memory run_program makes for a program: one per blocked run, one per
// op outside them (what the benchmark reports; the states themselves are not needed).
template <typename T>
index_t program_passes(int num_qubits, index_t batch, OpArray ops, int block_bits);

extern template void run_program<double>(StateArray<double>, int, index_t, OpArray,
                                         ConstComplexArray<double>, IndexArray, index_t, index_t,
                                         int, int);
extern template void run_program<float>(StateArray<float>, int, index_t, OpArray,
                                        ConstComplexArray<float>, IndexArray, index_t, index_t,
                                        int, int);

extern template index_t program_passes<double>(int, index_t, OpArray, int);
extern template index_t program_passes<float>(int, index_t, OpArray, int);

}  // namespace qc_cpu
