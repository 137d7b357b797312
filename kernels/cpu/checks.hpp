// Argument checks of the CPU extension. The CPU launchers run them before any work;
// the GPU's launch builders (devices/launches.py) call them through the module on the
// host copies of the same arguments before anything is enqueued, so both devices refuse
// the same calls alike. Each raises std::invalid_argument (ValueError in Python).
#pragma once

#include <cstddef>

#include "common.hpp"

namespace qc_cpu {

void check_states(int num_qubits, index_t batch, size_t size);

// Checks that a program's rows each pass check_op.
void check_program(int num_qubits, index_t batch, OpArray ops, size_t data_size);

void check_marginal(int num_qubits, index_t batch, IndexArray positions, IndexArray sorted_positions,
                    int chunk_bits, size_t partials_size);

void check_expectation(int num_qubits, index_t batch, OpArray passes, OpArray pieces,
                       int chunk_bits, size_t partials_size);

void check_probabilities(size_t states_size, size_t probabilities_size);

void check_reduce(size_t partials_size, int chunk_bits, size_t sums_size);

void check_sample(int num_measured, index_t shots, size_t batch, size_t cumulative_size,
                  size_t outcomes_size);

// Checks the rows of slots of a batch and a slot of them; slot < 0 names no slot (and
// then the rows may be any array).
void check_rows(index_t batch, size_t rows_size, index_t row_width, index_t slot);

// Checks that `rows_size` slots are whole rows of `row_width`; returns their number.
index_t check_row_batch(size_t rows_size, index_t row_width);

// Checks a classical program: known opcodes, slots inside a row (stores only above the
// engine's own slots), a stack that never underflows or grows past kStackDepth, and is
// empty at the end.
void check_classical(IndexArray code, index_t row_width);

void check_collapse(int num_qubits, index_t batch, size_t states_size, int qubit,
                    size_t probabilities_size, size_t rows_size, index_t row_width);

// Checks choose_kraus' arguments: pieces of shape (num_pieces, batch, 2), coefficients
// of (num_kraus, num_pieces, 2), one scale per row, and the index slot above the engine's.
void check_choose_kraus(size_t rows_size, index_t row_width, size_t pieces_size,
                        size_t coefficients_size, int num_kraus, int num_pieces, index_t index_slot,
                        size_t scales_size);

void check_scale_states(int num_qubits, index_t batch, size_t states_size, size_t scales_size);

// Checks density_diagonal's arguments: `batch` density matrices of n qubits (2n-qubit
// vectors) and `batch` n-qubit states.
void check_density_diagonal(int num_qubits, index_t batch, size_t densities_size, size_t states_size);

void check_gather(int num_qubits, size_t source_size, size_t branches_size, IndexArray sources);

void check_sample_shots(int num_measured, size_t cumulative_size, IndexArray shot_states,
                        size_t shot_numbers_size, size_t rows_size, index_t row_width,
                        size_t outcomes_size);

}  // namespace qc_cpu
