// run_program for float amplitudes: a translation unit of its own, compiled in parallel
// with the other precision's.
#include "program_launchers.hpp"

namespace qc_cpu {

template void run_program<float>(StateArray<float>, int, index_t, OpArray, ConstComplexArray<float>,
                               IndexArray, index_t, index_t, int, int);

template index_t program_passes<float>(int, index_t, OpArray, int);

}  // namespace qc_cpu
