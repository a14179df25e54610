// libFuzzer harness: the plain-text readers of gnnpool/io/edge_list.hpp (read_edge_list with
// every option, read_adjacency_matrix, read_labels, read_node_labels), in float and double.
// Input: one byte of options, then the file (and, after a NUL byte, a node-label file).
// Every input must end in gnnpool::parse_error or a valid, finite graph (fuzz_support.hpp).

#include <gnnpool/io/edge_list.hpp>

#include "fuzz_support.hpp"

namespace {

using namespace gnnpool;

template <typename Scalar>
void run(fuzz::Bytes& in, unsigned mode) {
  const auto files = fuzz::split_files(in.rest(), 2);
  const auto path = fuzz::scratch_dir() / "graph.txt";
  const auto labels = fuzz::scratch_dir() / "labels.txt";
  fuzz::write_file(path, files[0]);
  fuzz::write_file(labels, files[1]);
  switch (mode % 3) {
    case 0: {
      EdgeListReadOptions o;
      o.symmetrize = (mode & 4u) != 0;
      o.keep_self_loops = (mode & 8u) != 0;
      o.relabel = (mode & 16u) != 0;
      o.weighted = (mode & 32u) != 0;
      if ((mode & 64u) != 0) o.num_nodes = 1000;
      if ((mode & 128u) != 0) o.comments = "";
      fuzz::expect_clean([&] {
        const auto g = read_edge_list<Scalar>(path, o);
        fuzz::check_result(g.graph, "read_edge_list");
        if (g.num_lines < 1 || g.num_self_loops > g.num_lines) fuzz::finding("read_edge_list: inconsistent counts");
        const Labels y = read_node_labels(labels, g);
        if (y.size() != g.graph.num_nodes()) fuzz::finding("read_node_labels: one label per node expected");
      }, false);
      break;
    }
    case 1:
      fuzz::expect_clean([&] { fuzz::check_result(read_adjacency_matrix<Scalar>(path), "read_adjacency_matrix"); },
                         false);
      break;
    default:
      fuzz::expect_clean([&] {
        const Labels y = read_labels(path, (mode & 4u) != 0 ? 3 : 0);
        for (const Index l : y.labels)
          if (l < 0 || l >= y.num_classes()) fuzz::finding("read_labels: a label outside 0..C-1");
      }, false);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gnnpool::fuzz::Bytes in(data, size);
  const unsigned mode = in.byte();
  gnnpool::fuzz::with_scalar(in.flag(), [&]<typename Scalar>() { run<Scalar>(in, mode); });
  return 0;
}
