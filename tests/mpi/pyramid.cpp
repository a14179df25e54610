// Tests of gnnpool/mpi/pyramid.hpp, run by CTest under `mpirun -np P` (P = 2 and 3; label mpi):
// the ranks coarsen their shares of MUTAG (188 graphs; Graclus, NDP + Kron, k-MIS with the
// random and the degree scorers; double and float) and rank 0 writes one pyramid file, which
// must be BYTE-identical to the file a single process writes with save_pyramids for the same
// graphs (computed here by rank 0 as the reference), and must load back to the same pyramids.
// A coarsening that throws on one rank ends every rank with the same collective_error.

#include <gnnpool/mpi/communicator.hpp>
#include <gnnpool/mpi/pyramid.hpp>

#include <gnnpool/connect/kron.hpp>
#include <gnnpool/io/tu.hpp>
#include <gnnpool/pool/pyramid.hpp>
#include <gnnpool/select/graclus.hpp>
#include <gnnpool/select/kmis.hpp>
#include <gnnpool/select/ndp.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef GNNPOOL_SOURCE_DIR
#define GNNPOOL_SOURCE_DIR "."
#endif

namespace {

namespace mpi = gnnpool::mpi;
using gnnpool::Batch;
using gnnpool::Index;

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string temp(const std::string& name, int P) {
  return (std::filesystem::temp_directory_path() / ("gnnpool_mpi_pyramid_" + name + "_np" + std::to_string(P) + ".bin"))
      .string();
}

/// The single-process result: every graph's pyramid, saved with save_pyramids.
template <typename S, typename Coarsen>
void single_process(const Batch<S>& dataset, Index levels, const Coarsen& coarsen, const std::string& path) {
  std::vector<gnnpool::Pyramid<S>> all;
  for (Index g = 0; g < dataset.num_graphs(); ++g) {
    const Index one[1] = {g};
    all.push_back(gnnpool::build_pyramid(gnnpool::select_graphs(dataset, std::span<const Index>(one)), levels, coarsen));
  }
  gnnpool::save_pyramids<S>(path, all);
}

template <typename S, typename Coarsen>
bool compare(const mpi::Communicator& comm, const Batch<S>& dataset, Index levels, const Coarsen& coarsen,
             const std::string& name) {
  const std::string dist = temp(name + "_dist", comm.size()), ref = temp(name + "_single", comm.size());
  const auto shard = mpi::build_pyramids(comm, dataset, levels, coarsen, dist);
  bool ok = shard.range.size() == static_cast<Index>(shard.pyramids.size());
  int same = 1;
  if (comm.is_root()) {
    single_process(dataset, levels, coarsen, ref);
    const auto a = read_bytes(dist), b = read_bytes(ref);
    same = !a.empty() && a == b;
    const auto loaded = gnnpool::load_pyramids<S>(dist);
    same = same && static_cast<Index>(loaded.size()) == dataset.num_graphs();
    for (std::size_t k = 0; same && k < shard.pyramids.size(); ++k) same = loaded[k] == shard.pyramids[k];
    std::printf("%s  %s: %zu bytes, distributed file %s the single-process file\n", same && ok ? "ok    " : "FAILED",
                name.c_str(), a.size(), same ? "==" : "!=");
    std::filesystem::remove(dist);
    std::filesystem::remove(ref);
  }
  return comm.min((same && ok) ? 1 : 0) == 1;
}

}  // namespace

int main(int argc, char** argv) {
  return mpi::run(argc, argv, [&] {
    mpi::Communicator comm;
    const int P = comm.size();
    if (comm.is_root()) std::printf("gnnpool distributed pyramid tests on %d ranks\n", P);
    auto tu = gnnpool::read_tu<double>(std::string(GNNPOOL_SOURCE_DIR) + "/data/MUTAG");
    const Batch<double>& graphs = tu.graphs;
    int failures = 0;

    gnnpool::GraclusOptions go;
    go.seed = 4;
    failures += !compare(comm, graphs, 3, gnnpool::make_coarsener(gnnpool::GraclusSelect<double>(go)), "graclus");
    gnnpool::NDPSelectOptions no;
    no.seed = 2;
    failures += !compare(comm, graphs, 2,
                         gnnpool::make_coarsener(gnnpool::NDPSelect<double>(no), gnnpool::KronConnect<double>()), "ndp");
    gnnpool::KMISOptions ko;
    ko.scorer = gnnpool::KMISScorer::random;
    ko.seed = 9;
    failures += !compare(comm, graphs, 2, gnnpool::make_coarsener(gnnpool::KMISSelect<double>(ko)), "kmis-random");
    ko.scorer = gnnpool::KMISScorer::degree;
    ko.k = 2;
    failures += !compare(comm, graphs, 1, gnnpool::make_coarsener(gnnpool::KMISSelect<double>(ko)), "kmis-degree");
    const Batch<float> graphs_f = gnnpool::read_tu<float>(std::string(GNNPOOL_SOURCE_DIR) + "/data/MUTAG").graphs;
    failures += !compare(comm, graphs_f, 2, gnnpool::make_coarsener(gnnpool::GraclusSelect<float>(go)), "graclus-float");
    // Fewer graphs than ranks: some shards are empty.
    const Index two[2] = {5, 17};
    const Batch<double> tiny = gnnpool::select_graphs(graphs, std::span<const Index>(two));
    failures += !compare(comm, tiny, 2, gnnpool::make_coarsener(gnnpool::GraclusSelect<double>(go)), "graclus-2-graphs");

    // A coarsening that fails on one rank: every rank gets the same collective_error.
    std::string message;
    try {
      mpi::build_pyramids(comm, graphs, 1, [&](const Batch<double>& level, Index l) {
        if (comm.rank() == P - 1) throw gnnpool::invalid_argument("a coarsener that refuses this rank's graphs");
        return gnnpool::make_coarsener(gnnpool::GraclusSelect<double>(go))(level, l);
      });
    } catch (const mpi::collective_error& e) {
      message = e.what();
    }
    const bool agreed = message.find("failed on 1 of " + std::to_string(P) + " ranks: rank " + std::to_string(P - 1) +
                                     ": a coarsener that refuses") != std::string::npos;
    if (comm.is_root())
      std::printf("%s  a failing coarsener ends every rank with one collective_error (%s)\n", agreed ? "ok    " : "FAILED",
                  message.c_str());
    failures += comm.min(agreed ? 1 : 0) == 1 ? 0 : 1;
    if (comm.is_root()) std::printf("%d failed\n", failures);
    return failures == 0 ? 0 : 1;
  });
}
