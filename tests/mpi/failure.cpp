// The ways a data-parallel job can fail, each of which must END the job with a clear error
// instead of hanging it (CTest runs this program under mpirun with a timeout and checks the
// exit code and the text; tests/mpi/expect_failure.cmake):
//   --mode mismatch  the last rank holds a dataset with one graph less: every rank stops at the
//                    loader's agreement check with the same gnnpool::mpi::collective_error;
//   --mode throw     the last rank throws in the middle of training: it prints the error and
//                    MPI_Abort ends the other ranks, which wait in the gradient all-reduce;
//   --mode die       the last rank is killed (SIGKILL) in the middle of training: mpirun ends
//                    the job.

#include <gnnpool/mpi/communicator.hpp>
#include <gnnpool/mpi/data_parallel.hpp>

#include <gnnpool/model/ops.hpp>
#include <gnnpool/model/tape.hpp>
#include <gnnpool/nn/adam.hpp>
#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/readout/mean.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include <csignal>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace mpi = gnnpool::mpi;
using gnnpool::Index;

int main(int argc, char** argv) {
  return mpi::run(argc, argv, [&] {
    const std::string mode = argc >= 3 && std::string(argv[1]) == "--mode" ? argv[2] : "";
    if (mode != "mismatch" && mode != "throw" && mode != "die" && mode != "none")
      throw std::invalid_argument("usage: failure --mode mismatch|throw|die|none");
    mpi::Communicator comm;
    const bool last = comm.rank() == comm.size() - 1;
    std::vector<Index> sizes(40, 12);
    const auto graphs = gnnpool::testing::random_batch<double>(sizes, 3.0, 3, 1);
    std::vector<Index> labels(sizes.size()), ids(sizes.size());
    for (std::size_t g = 0; g < sizes.size(); ++g) labels[g] = static_cast<Index>(g % 2);
    std::iota(ids.begin(), ids.end(), Index(0));
    if (mode == "mismatch" && last) ids.pop_back();  // "one graph less" in its training set
    const gnnpool::Batch<double> mine = mode == "mismatch" && last
                                            ? gnnpool::select_graphs(graphs, std::span<const Index>(ids))
                                            : graphs;
    if (mode == "mismatch" && last) labels.pop_back();

    gnnpool::ParameterSet<double> params;
    const gnnpool::GCNConv<double> conv(params, "conv", 3, 8);
    const gnnpool::MeanReadout<double> mean;
    const gnnpool::Linear<double> head(params, "head", 8, 2);
    params.initialize(0);
    mpi::DataParallel<double> dp(comm, params);
    gnnpool::Adam<double> adam(params);
    auto grads = params.zeros_like();
    gnnpool::Tape<double> tape(params);
    mpi::DistributedGraphLoader<double> loader(comm, mine, labels, ids, {.batch_size = 8, .seed = 1});
    for (int epoch = 0; epoch < 3; ++epoch)
      for (const auto& mb : loader.epoch()) {
        if (epoch == 1 && mb.step == 2 && last) {
          if (mode == "throw") throw std::runtime_error("simulated failure in the training step of the last rank");
          if (mode == "die") {
            std::fprintf(stderr, "rank %d: killing myself (simulated crash)\n", comm.rank());
            std::fflush(stderr);
            std::raise(SIGKILL);
          }
        }
        dp.step(tape, mb, grads, [&](gnnpool::Tape<double>& t, const mpi::LocalBatch<double>& b) {
          auto [g, x] = t.inputs(b.batch);
          return gnnpool::cross_entropy(t(head, t(mean, g, gnnpool::relu(t(conv, g, x)))), b.labels);
        });
        adam.step(params, grads);
      }
    if (comm.is_root()) std::printf("finished normally\n");
    return 0;
  });
}
