#ifndef GNNPOOL_EXAMPLES_COMMON_PARALLEL_HPP
#define GNNPOOL_EXAMPLES_COMMON_PARALLEL_HPP

// Data-parallel training for the examples (docs/distributed.md). Compiled with
// GNNPOOL_EXAMPLES_WITH_MPI (the `*_mpi` programs, linked with gnnpool::mpi, run with
// `mpirun -np P`), `Parallel` is gnnpool::mpi: every rank trains on its slice of each global
// mini-batch, the gradients are summed over the ranks, metrics are reduced, and only rank 0
// prints. Otherwise it is one process and every call is the identity, so the program reads the
// same either way.

#include <gnnpool/gnnpool.hpp>
#ifdef GNNPOOL_EXAMPLES_WITH_MPI
#include <gnnpool/mpi/communicator.hpp>
#include <gnnpool/mpi/data_parallel.hpp>
#endif

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>
#include <vector>

namespace examples {

#ifdef GNNPOOL_EXAMPLES_WITH_MPI
/// The loader of the training batches: the global batches of GraphLoader, this rank's slices.
template <typename Scalar>
using Loader = gnnpool::mpi::DistributedGraphLoader<Scalar>;
#else
template <typename Scalar>
using Loader = gnnpool::GraphLoader<Scalar>;
#endif

class Parallel {
 public:
#ifdef GNNPOOL_EXAMPLES_WITH_MPI
  /// Ranks other than 0 print nothing on stdout (errors still go to stderr).
  Parallel() {
    if (!m_comm.is_root() && !std::freopen("/dev/null", "w", stdout)) std::perror("freopen");
  }
  int rank() const { return m_comm.rank(); }
  int size() const { return m_comm.size(); }

  template <typename Scalar>
  Loader<Scalar> loader(const gnnpool::Batch<Scalar>& graphs, std::span<const gnnpool::Index> labels,
                        std::span<const gnnpool::Index> ids, const gnnpool::LoaderOptions& options) {
    return Loader<Scalar>(m_comm, graphs, labels, ids, options);
  }
  /// Rank 0's parameters on every rank.
  template <typename Scalar>
  void broadcast(gnnpool::ParameterSet<Scalar>& params) { m_comm.broadcast(params); }
  /// The sum of the ranks' gradients (one all-reduce), timed as communication.
  template <typename Scalar>
  void allreduce(gnnpool::ParameterSet<Scalar>& grads) {
    const auto t0 = std::chrono::steady_clock::now();
    m_comm.allreduce_sum(grads);
    m_comm_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  /// Sums of metrics over the ranks, in place.
  void sum(std::span<double> values) { m_comm.allreduce(values); }
  /// The factor of a slice's mean loss: its share of the global batch.
  template <typename Scalar>
  static Scalar weight(const gnnpool::mpi::LocalBatch<Scalar>& slice) { return slice.weight(); }
#else
  int rank() const { return 0; }
  int size() const { return 1; }
  template <typename Scalar>
  Loader<Scalar> loader(const gnnpool::Batch<Scalar>& graphs, std::span<const gnnpool::Index> labels,
                        std::span<const gnnpool::Index> ids, const gnnpool::LoaderOptions& options) {
    return Loader<Scalar>(graphs, labels, ids, options);
  }
  template <typename Scalar>
  void broadcast(gnnpool::ParameterSet<Scalar>&) {}
  template <typename Scalar>
  void allreduce(gnnpool::ParameterSet<Scalar>&) {}
  void sum(std::span<double>) {}
  template <typename Scalar>
  static Scalar weight(const gnnpool::MiniBatch<Scalar>&) { return Scalar(1); }
#endif

  bool is_root() const { return rank() == 0; }
  /// This rank's contiguous share of `ids` (evaluation: each rank scores its share).
  std::vector<gnnpool::Index> shard(const std::vector<gnnpool::Index>& ids) const {
    const auto n = static_cast<gnnpool::Index>(ids.size()), p = static_cast<gnnpool::Index>(size()),
               r = static_cast<gnnpool::Index>(rank());
    const gnnpool::Index begin = r * (n / p) + std::min(r, n % p), count = n / p + (r < n % p ? 1 : 0);
    return {ids.begin() + begin, ids.begin() + begin + count};
  }
  /// Seconds spent in the gradient all-reduce so far.
  double comm_seconds() const { return m_comm_seconds; }

  /// main() of an example that can run data-parallel: `body()` returns the exit code. With
  /// MPI, a failure on one rank ends the job (gnnpool::mpi::run); a failure on a single rank
  /// (mpirun -np 1 or no mpirun) prints "program: message" as the plain program does.
  template <typename F>
  static int main(const char* program, int& argc, char**& argv, F&& body) {
#ifdef GNNPOOL_EXAMPLES_WITH_MPI
    return gnnpool::mpi::run(argc, argv, [&] {
      std::atexit(finalize);  // --help exits from the option parser
      int size = 1;
      MPI_Comm_size(MPI_COMM_WORLD, &size);
      try {
        return body();
      } catch (const gnnpool::mpi::collective_error&) {
        throw;
      } catch (const std::exception& e) {
        if (size > 1) throw;
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return 1;
      }
    });
#else
    (void)argc;
    (void)argv;
    try {
      return body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", program, e.what());
      return 1;
    }
#endif
  }

 private:
#ifdef GNNPOOL_EXAMPLES_WITH_MPI
  static void finalize() {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized) MPI_Finalize();
  }
  gnnpool::mpi::Communicator m_comm;
#endif
  double m_comm_seconds = 0;
};

}  // namespace examples

#endif
