// MPI_Allreduce latency and bandwidth on this machine, for the scaling model of
// docs/distributed.md: `mpirun -np P gnnpool_mpi_allreduce [--max-mib 64] [--seconds 0.5]`.
// For message sizes from 8 B to --max-mib MiB (powers of 4), rank 0 prints the minimum and
// median time of one sum of a double buffer, raw MPI_Allreduce and
// gnnpool::mpi::Communicator::allreduce_sum of a ParameterSet with the same number of scalars
// (pack + all-reduce + unpack), and, from the minimum, the algorithm bandwidth (bytes / time) and
// bus bandwidth (2 (P - 1) / P x that: the bytes each rank sends and receives in a ring
// all-reduce, comparable across P and with link speeds).

#include <gnnpool/mpi/communicator.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Timing {
  double min = 0, median = 0;
};

/// Minimum and median seconds of one call of f (the slowest rank's) over repetitions filling
/// about `budget` seconds (at least 5). On a shared machine the minimum is the uncontended cost:
/// the median includes the times a rank was descheduled while the other waited.
template <typename F>
Timing time_calls(const gnnpool::mpi::Communicator& comm, double budget, F&& f) {
  f();  // warm-up
  std::vector<double> times;
  const auto start = std::chrono::steady_clock::now();
  for (int rep = 0;; ++rep) {
    comm.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    times.push_back(comm.max(t));  // the slowest rank's time
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // every rank must agree on when to stop
    if (comm.max(rep >= 4 && spent > budget ? 1 : 0) == 1 && rep >= 4) break;
  }
  std::sort(times.begin(), times.end());
  return {times.front(), times[times.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  return gnnpool::mpi::run(argc, argv, [&] {
    double max_mib = 64, budget = 0.5;
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string a = argv[i];
      if (a == "--max-mib") max_mib = std::atof(argv[i + 1]);
      else if (a == "--seconds") budget = std::atof(argv[i + 1]);
      else throw std::invalid_argument("unknown option " + a + " (--max-mib M, --seconds S)");
    }
    gnnpool::mpi::Communicator comm;
    const int P = comm.size();
    if (comm.is_root()) {
      std::printf("MPI_Allreduce (sum of doubles) on %d ranks; slowest rank; min and median of repetitions\n", P);
      std::printf("%10s %10s %10s %12s %12s %14s %14s\n", "bytes", "min (us)", "median", "algbw GB/s", "busbw GB/s",
                  "ParamSet min", "ParamSet med");
    }
    for (double bytes = 8; bytes <= max_mib * 1024 * 1024; bytes *= 4) {
      const auto n = static_cast<std::size_t>(bytes / 8);
      std::vector<double> buffer(n, 1.0);
      const Timing raw = time_calls(comm, budget, [&] { comm.allreduce(std::span<double>(buffer)); });
      gnnpool::ParameterSet<double> set;
      set.add("w", 1, static_cast<gnnpool::Index>(n));
      const Timing packed = time_calls(comm, budget, [&] { comm.allreduce_sum(set); });
      if (comm.is_root()) {  // bandwidths from the minimum
        const double algbw = bytes / raw.min / 1e9, busbw = algbw * 2.0 * (P - 1) / P;
        std::printf("%10.0f %10.2f %10.2f %12.3f %12.3f %14.2f %14.2f\n", bytes, raw.min * 1e6, raw.median * 1e6, algbw,
                    busbw, packed.min * 1e6, packed.median * 1e6);
      }
    }
    return 0;
  });
}
