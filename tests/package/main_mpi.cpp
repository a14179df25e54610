// The MPI component's consumer (built, not run, by tests/package): the sum of a gradient object
// over the ranks through the installed gnnpool::mpi.

#include <gnnpool/core/parameters.hpp>
#include <gnnpool/mpi/communicator.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  return gnnpool::mpi::run(argc, argv, [] {
    gnnpool::mpi::Communicator comm;
    gnnpool::ParameterSet<double> grads;
    grads.add("w", 2, 2, gnnpool::Init::ones);
    grads.initialize(0);
    comm.allreduce_sum(grads);
    std::printf("rank %d of %d: sum %g\n", comm.rank(), comm.size(), grads.at("w")(0, 0));
    return grads.at("w")(0, 0) == comm.size() ? 0 : 1;
  });
}
