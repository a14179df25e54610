// libFuzzer harness: load_pyramids (gnnpool/pool/pyramid.hpp) into float and double.
// Input: one byte of mode, then the file. With mode bit 1 set the harness repairs the header's
// payload length and the trailing checksum before writing the file, so that mutations reach
// the payload's counts, indices and values instead of stopping at the checksum; otherwise the
// bytes are written as they are (the header checks). A loaded pyramid must pass check_pyramid,
// hold finite values and survive a save / load round trip unchanged.

#include <gnnpool/pool/pyramid.hpp>

#include "fuzz_support.hpp"

#include <cstring>

namespace {

using namespace gnnpool;

std::string repaired(std::string_view file) {
  std::string out(file);
  constexpr std::size_t header = detail::pyramid_header_bytes;
  if (out.size() < header + 8) return out;
  const std::size_t payload = out.size() - header - 8;
  for (std::size_t k = 0; k < 8; ++k) out[24 + k] = static_cast<char>((payload >> (8 * k)) & 0xffu);
  const std::uint64_t h = detail::fnv1a(reinterpret_cast<const unsigned char*>(out.data()) + header, payload);
  for (std::size_t k = 0; k < 8; ++k) out[header + payload + k] = static_cast<char>((h >> (8 * k)) & 0xffu);
  return out;
}

template <typename Scalar>
void run(const std::string& path) {
  fuzz::expect_clean([&] {
    const std::vector<Pyramid<Scalar>> ps = load_pyramids<Scalar>(path);
    for (const auto& p : ps) {
      try {
        check_pyramid(p, "fuzz_pyramid");
      } catch (const std::exception& e) {
        fuzz::finding(std::string("load_pyramids returned an invalid pyramid: ") + e.what());
      }
      for (const auto& level : p.levels)
        if (!level.selection.weight.allFinite()) fuzz::finding("load_pyramids returned a non-finite weight");
    }
    const std::string again = (fuzz::scratch_dir() / "again.pyr").string();
    save_pyramids<Scalar>(again, ps);
    if (load_pyramids<Scalar>(again) != ps) fuzz::finding("a pyramid changed in a save / load round trip");
  }, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gnnpool::fuzz::Bytes in(data, size);
  const unsigned mode = in.byte();
  const std::string bytes = (mode & 1u) != 0 ? repaired(in.rest()) : std::string(in.rest());
  const std::string path = (gnnpool::fuzz::scratch_dir() / "input.pyr").string();
  gnnpool::fuzz::write_file(path, bytes);
  gnnpool::fuzz::with_scalar((mode & 2u) != 0, [&]<typename Scalar>() { run<Scalar>(path); });
  return 0;
}
