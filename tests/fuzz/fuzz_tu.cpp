// libFuzzer harness: read_tu (gnnpool/io/tu.hpp) in float and double.
// Input: one byte of options, then the five files of dataset "DS" separated by NUL bytes:
// DS_A.txt, DS_graph_indicator.txt, DS_graph_labels.txt, DS_node_labels.txt,
// DS_node_attributes.txt (an option bit leaves each of the last two out).
// Every input must end in gnnpool::parse_error or a valid, finite dataset (fuzz_support.hpp).

#include <gnnpool/io/tu.hpp>

#include "fuzz_support.hpp"

#include <filesystem>

namespace {

using namespace gnnpool;

template <typename Scalar>
void run(std::string_view payload, unsigned mode) {
  const auto dir = fuzz::scratch_dir() / "DS";
  std::filesystem::create_directories(dir);
  const auto files = fuzz::split_files(payload, 5);
  fuzz::write_file(dir / "DS_A.txt", files[0]);
  fuzz::write_file(dir / "DS_graph_indicator.txt", files[1]);
  fuzz::write_file(dir / "DS_graph_labels.txt", files[2]);
  std::error_code ec;
  if ((mode & 2u) != 0) fuzz::write_file(dir / "DS_node_labels.txt", files[3]);
  else std::filesystem::remove(dir / "DS_node_labels.txt", ec);
  if ((mode & 4u) != 0) fuzz::write_file(dir / "DS_node_attributes.txt", files[4]);
  else std::filesystem::remove(dir / "DS_node_attributes.txt", ec);
  TUReadOptions o;
  o.node_attributes = (mode & 8u) == 0;
  o.node_labels = (mode & 16u) == 0;
  if ((mode & 32u) != 0) o.max_unused_label_columns = 0;
  fuzz::expect_clean([&] {
    const TUDataset<Scalar> d = read_tu<Scalar>(dir, "DS", o);
    fuzz::check_result(d.graphs, "read_tu");
    if (d.y.size() != d.num_graphs()) fuzz::finding("read_tu: one label per graph expected");
    if (d.graphs.x.cols() != std::max<Index>(1, d.num_node_attributes + d.num_node_label_columns))
      fuzz::finding("read_tu: x has the wrong width");
  }, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gnnpool::fuzz::Bytes in(data, size);
  const unsigned mode = in.byte();
  gnnpool::fuzz::with_scalar((mode & 1u) != 0, [&]<typename Scalar>() { run<Scalar>(in.rest(), mode); });
  return 0;
}
