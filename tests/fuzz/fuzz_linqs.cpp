// libFuzzer harness: read_linqs_files (gnnpool/io/linqs.hpp) in float and double, with every
// option. Input: one byte of options, then the .content file, a NUL byte, the .cites file.
// Every input must end in gnnpool::parse_error or a valid, finite graph (fuzz_support.hpp).

#include <gnnpool/io/linqs.hpp>

#include "fuzz_support.hpp"

namespace {

using namespace gnnpool;

template <typename Scalar>
void run(std::string_view payload, unsigned mode) {
  const auto files = fuzz::split_files(payload, 2);
  const auto content = fuzz::scratch_dir() / "p.content";
  const auto cites = fuzz::scratch_dir() / "p.cites";
  fuzz::write_file(content, files[0]);
  fuzz::write_file(cites, files[1]);
  LinqsReadOptions o;
  o.symmetrize = (mode & 2u) != 0;
  o.keep_self_loops = (mode & 4u) != 0;
  o.row_normalize = (mode & 8u) != 0;
  fuzz::expect_clean([&] {
    const LinqsDataset<Scalar> d = read_linqs_files<Scalar>(content, cites, o);
    fuzz::check_result(d.graph, "read_linqs");
    if (static_cast<Index>(d.labels.size()) != d.graph.num_nodes() ||
        static_cast<Index>(d.ids.size()) != d.graph.num_nodes())
      fuzz::finding("read_linqs: one label and one id per paper expected");
    if (d.num_unknown_citations + d.num_self_citations > d.num_citations)
      fuzz::finding("read_linqs: inconsistent citation counts");
  }, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gnnpool::fuzz::Bytes in(data, size);
  const unsigned mode = in.byte();
  gnnpool::fuzz::with_scalar((mode & 1u) != 0, [&]<typename Scalar>() { run<Scalar>(in.rest(), mode); });
  return 0;
}
