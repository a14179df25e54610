// MPI_Allreduce latency and bandwidth on this machine, for the scaling model of
// docs/distributed.md: `mpirun -np P gnnpool_mpi_allreduce [--max-mib 64] [--seconds 0.5]`.
// For message sizes from 8 B to --max-mib MiB (powers of 4), rank 0 prints the median time of
// one sum of a double buffer, raw MPI_Allreduce and gnnpool::mpi::Communicator::allreduce_sum
// of a ParameterSet with the same number of scalars (pack + all-reduce + unpack), and the
// algorithm bandwidth (bytes / time) and bus bandwidth (2 (P - 1) / P x that: the bytes each
// rank sends and receives in a ring all-reduce, comparable across P and with link speeds).

#include <gnnpool/mpi/communicator.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

/// Median seconds of one call of f over repetitions filling about `budget` seconds (at least 5).
template <typename F>
double median_seconds(const gnnpool::mpi::Communicator& comm, double budget, F&& f) {
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
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
  return times[times.size() / 2];
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
      std::printf("MPI_Allreduce (sum of doubles) on %d ranks; median of repetitions, slowest rank\n", P);
      std::printf("%12s %14s %14s %14s %14s\n", "bytes", "raw (us)", "algbw (GB/s)", "busbw (GB/s)",
                  "ParameterSet (us)");
    }
    for (double bytes = 8; bytes <= max_mib * 1024 * 1024; bytes *= 4) {
      const auto n = static_cast<std::size_t>(bytes / 8);
      std::vector<double> buffer(n, 1.0);
      const double raw = median_seconds(comm, budget, [&] { comm.allreduce(std::span<double>(buffer)); });
      gnnpool::ParameterSet<double> set;
      set.add("w", 1, static_cast<gnnpool::Index>(n));
      const double packed = median_seconds(comm, budget, [&] { comm.allreduce_sum(set); });
      if (comm.is_root()) {
        const double algbw = bytes / raw / 1e9, busbw = algbw * 2.0 * (P - 1) / P;
        std::printf("%12.0f %14.2f %14.3f %14.3f %14.2f\n", bytes, raw * 1e6, algbw, busbw, packed * 1e6);
      }
    }
    return 0;
  });
}
