// The CPU extension: OpenMP launchers over the per-item bodies in kernels/include and
// their nanobind binding. Each function releases the GIL, checks its arguments so that
// no call can read or write outside the arrays it was given, then runs its work items
// in an OpenMP parallel loop, the CPU counterpart of a CUDA grid-stride loop.
//
// The build compiles this module once per instruction set it ships (CMakeLists.txt):
// QC_CPU_MODULE_NAME names each build's Python module (_cpu_native, _cpu_avx2,
// _cpu_baseline), and qiskit_cupy/_cpu.py imports the best one the processor runs.

#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "checks.hpp"
#include "classical.cuh"
#include "common.hpp"
#include "dynamic.cuh"
#include "expectation.cuh"
#include "gates.cuh"
#include "measure.cuh"
#include "program.hpp"
#include "state.cuh"

#ifndef QC_CPU_MODULE_NAME
#error "QC_CPU_MODULE_NAME must name the Python module this build of the extension defines"
#endif

namespace qc_cpu {
namespace {

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

// Whether the processor running this code implements an x86-64 microarchitecture level
// ("x86-64-v2", "x86-64-v3": AVX2, FMA, BMI2, ...; "x86-64-v4": AVX-512), as the
// compiler's run-time CPU detection reads it; False on other processors. The loader asks
// the baseline build before it imports a build that needs a level.
bool cpu_supports(const std::string& level) {
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (level == "x86-64-v2") {
    return __builtin_cpu_supports("x86-64-v2");
  }
  if (level == "x86-64-v3") {
    return __builtin_cpu_supports("x86-64-v3");
  }
  if (level == "x86-64-v4") {
    return __builtin_cpu_supports("x86-64-v4");
  }
  throw std::invalid_argument("unknown x86-64 level: " + level);
#else
  (void)level;
  return false;
#endif
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
void density_diagonal(ConstComplexArray<T> densities, StateArray<T> states, int num_qubits, index_t batch,
                      int num_threads) {
  check_density_diagonal(num_qubits, batch, densities.size(), states.size());
  nb::gil_scoped_release release;
  const qc::complex<T>* density_data = as_qc(densities.data());
  qc::complex<T>* state_data = as_qc(states.data());
  parallel_items(static_cast<index_t>(states.size()), num_threads,
                 [&](uindex_t item) { qc::density_diagonal(density_data, state_data, num_qubits, item); });
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

void choose_kraus(RowsArray rows, index_t row_width, ConstDoubleArray pieces,
                  ConstDoubleArray coefficients, int num_kraus, int num_pieces, index_t index_slot,
                  DoubleArray scales, index_t mask_slot, int num_threads) {
  check_choose_kraus(rows.size(), row_width, pieces.size(), coefficients.size(), num_kraus,
                     num_pieces, index_slot, scales.size());
  const index_t batch = check_row_batch(rows.size(), row_width);
  check_rows(batch, rows.size(), row_width, mask_slot);
  nb::gil_scoped_release release;
  const qc::ActiveMask mask{rows.data(), row_width, mask_slot};
  qc::index_t* row_data = rows.data();
  const double* piece_data = pieces.data();
  const double* coefficient_data = coefficients.data();
  double* scale_data = scales.data();
  parallel_items(batch, num_threads, [&](uindex_t item) {
    qc::choose_kraus(row_data, row_width, item, static_cast<uindex_t>(batch), piece_data,
                     coefficient_data, num_kraus, num_pieces, index_slot, scale_data, mask);
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
void scale_states(StateArray<T> states, int num_qubits, index_t batch, ConstDoubleArray scales,
                  IndexArray rows, index_t row_width, index_t mask_slot, int num_threads) {
  check_scale_states(num_qubits, batch, states.size(), scales.size());
  check_rows(batch, rows.size(), row_width, mask_slot);
  nb::gil_scoped_release release;
  const qc::ActiveMask mask{rows.data(), row_width, mask_slot};
  qc::complex<T>* state_data = as_qc(states.data());
  const double* factors = scales.data();
  parallel_items(static_cast<index_t>(states.size()), num_threads, [&](uindex_t item) {
    qc::scale_amplitude(state_data, num_qubits, item, factors, mask);
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
             nb::arg("block_bits") = -1,
             "Apply every op row of `ops`, in order, to the active states of a batch; runs of "
             "ops below block_bits go block by block (-1: blocks of half the L2 cache; 0: op "
             "by op).");
  module.def("collapse", &collapse<T>, nb::arg("states").noconvert(), nb::arg("num_qubits"), nb::arg("batch"),
             nb::arg("qubit"), nb::arg("probabilities"), nb::arg("rows"), nb::arg("row_width"),
             nb::arg("reset"), nb::arg("mask_slot"), nb::arg("num_threads"),
             "Collapse (or reset) one qubit of each active state to its row's outcome.");
  module.def("scale_states", &scale_states<T>, nb::arg("states").noconvert(), nb::arg("num_qubits"),
             nb::arg("batch"), nb::arg("scales"), nb::arg("rows"), nb::arg("row_width"),
             nb::arg("mask_slot"), nb::arg("num_threads"),
             "Scale every amplitude of each active state by its state's factor.");
  module.def("gather", &gather<T>, nb::arg("source"), nb::arg("branches").noconvert(), nb::arg("num_qubits"),
             nb::arg("sources"), nb::arg("num_threads"), "Copy state sources[j] to branch j.");
  module.def("density_diagonal", &density_diagonal<T>, nb::arg("densities"), nb::arg("states").noconvert(),
             nb::arg("num_qubits"), nb::arg("batch"), nb::arg("num_threads"),
             "States whose probabilities are the diagonals of density matrices.");
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
}  // namespace qc_cpu

using namespace qc_cpu;

NB_MODULE(QC_CPU_MODULE_NAME, module) {
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
  module.def("choose_kraus", &choose_kraus, nb::arg("rows").noconvert(), nb::arg("row_width"),
             nb::arg("pieces"), nb::arg("coefficients"), nb::arg("num_kraus"), nb::arg("num_pieces"),
             nb::arg("index_slot"), nb::arg("scales").noconvert(), nb::arg("mask_slot"),
             nb::arg("num_threads"), "Draw each active state's Kraus operator and its scale.");
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
  module.def("check_choose_kraus", &check_choose_kraus, nb::arg("rows_size"), nb::arg("row_width"),
             nb::arg("pieces_size"), nb::arg("coefficients_size"), nb::arg("num_kraus"),
             nb::arg("num_pieces"), nb::arg("index_slot"), nb::arg("scales_size"),
             "Raise ValueError unless choose_kraus' arguments fit.");
  module.def("check_scale_states", &check_scale_states, nb::arg("num_qubits"), nb::arg("batch"),
             nb::arg("states_size"), nb::arg("scales_size"),
             "Raise ValueError unless scale_states' arguments fit.");
  module.def("check_density_diagonal", &check_density_diagonal, nb::arg("num_qubits"), nb::arg("batch"),
             nb::arg("densities_size"), nb::arg("states_size"),
             "Raise ValueError unless density_diagonal's arguments fit.");
  module.def("check_gather", &check_gather, nb::arg("num_qubits"), nb::arg("source_size"),
             nb::arg("branches_size"), nb::arg("sources"), "Raise ValueError unless gather's arguments fit.");
  module.def("check_sample_shots", &check_sample_shots, nb::arg("num_measured"),
             nb::arg("cumulative_size"), nb::arg("shot_states"), nb::arg("shot_numbers_size"),
             nb::arg("rows_size"), nb::arg("row_width"), nb::arg("outcomes_size"),
             "Raise ValueError unless sample_shots' arguments fit.");
  module.def("op_kinds", []() { return registry_rows(qc::OpKinds{}); },
             "The op-kind registry as compiled: (code, max targets, data bits, fixes targets, "
             "sized, permutes) per kind.");
  module.def("cpu_supports", &cpu_supports, nb::arg("level"),
             "Whether this processor implements an x86-64 level (\"x86-64-v2\", \"x86-64-v3\", "
             "\"x86-64-v4\"); False on other processors.");
  module.def("simd", &simd_level,
             "The vector instruction set the extension was compiled for and its width in bits.");
  module.def(
      "program_passes",
      [](int num_qubits, index_t batch, OpArray ops, int itemsize, int block_bits) {
        if (itemsize != 8 && itemsize != 16) {
          throw std::invalid_argument("itemsize must be 8 (single) or 16 (double)");
        }
        return itemsize == 16 ? program_passes<double>(num_qubits, batch, ops, block_bits)
                              : program_passes<float>(num_qubits, batch, ops, block_bits);
      },
      nb::arg("num_qubits"), nb::arg("batch"), nb::arg("ops"), nb::arg("itemsize"), nb::arg("block_bits") = -1,
      "The passes over memory run_program makes for these ops: one per cache-blocked run, one "
      "per op outside them.");
  module.def("cache_block_bits", &cache_block_bits, nb::arg("itemsize"),
             "The block width run_program's cache-blocked runs use by default for amplitudes "
             "of itemsize bytes: half a core's L2 cache.");
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
