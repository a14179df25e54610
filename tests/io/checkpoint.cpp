// Tests of gnnpool/io/checkpoint.hpp: round trips (parameters alone, with Adam's state, across
// precisions), training resumed from a checkpoint continues step for step, and every way a
// checkpoint file can be bad (foreign, truncated at every byte, corrupt counts, wrong layout).

#include <gnnpool/io/checkpoint.hpp>

#include "support/temp_file.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_io_checkpoint {

using gnnpool::Adam;
using gnnpool::Checkpoint;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::parse_error;
using gnnpool::test::require_throws_with;

namespace {

/// A temporary file removed at the end of the scope.
struct TempFile : gnnpool::test::TempFile {
  explicit TempFile(const std::string& name) : gnnpool::test::TempFile("gnnpool_checkpoint_", name) {}
};

template <typename S>
ParameterSet<S> model(std::uint64_t seed) {
  ParameterSet<S> p;
  p.add("conv.lin.weight", 4, 3, gnnpool::Init::glorot);
  p.add("conv.bias", 1, 4, gnnpool::Init::torch_linear, 3);
  p.add("empty", 0, 5);
  p.add("head.weight", 2, 4, gnnpool::Init::glorot);
  p.initialize(seed);
  return p;
}

/// A deterministic gradient for step t (no model needed to exercise the optimiser).
template <typename S>
ParameterSet<S> gradient(const ParameterSet<S>& params, int t) {
  ParameterSet<S> g = params.zeros_like();
  for (Index s = 0; s < g.size(); ++s)
    for (Index i = 0; i < g[s].size(); ++i)
      g[s].data()[i] = static_cast<S>(std::sin(0.7 * static_cast<double>(i + 3 * s + 5 * t))) + params[s].data()[i];
  return g;
}

bool equal(const ParameterSet<double>& a, const ParameterSet<double>& b) {
  if (!a.same_layout(b)) return false;
  for (Index s = 0; s < a.size(); ++s)
    if (a[s] != b[s]) return false;
  return true;
}

/// Rewrites the checksum after a deliberate edit of the payload.
void reseal(std::vector<unsigned char>& bytes) {
  const std::size_t payload = bytes.size() - 40;
  const auto h = gnnpool::detail::fnv1a(bytes.data() + 32, payload);
  for (std::size_t k = 0; k < 8; ++k) bytes[32 + payload + k] = static_cast<unsigned char>((h >> (8 * k)) & 0xffu);
}

}  // namespace

TEST_CASE("Checkpoint: parameters round trip bit for bit, names and shapes included", "[io][checkpoint]") {
  const auto params = model<double>(1);
  TempFile file("params");
  gnnpool::save_checkpoint(file.path, params);
  const Checkpoint<double> c = gnnpool::read_checkpoint<double>(file.path);
  CHECK(equal(c.params, params));
  CHECK_FALSE(c.has_optimizer);
  CHECK(c.first_moment.size() == 0);
  auto target = model<double>(2);
  gnnpool::load_checkpoint(file.path, target);
  CHECK(equal(target, params));
  // float file, double model and back: the values convert.
  TempFile f32("f32");
  gnnpool::save_checkpoint(f32.path, params.cast<float>());
  const auto back = gnnpool::read_checkpoint<double>(f32.path);
  for (Index s = 0; s < params.size(); ++s) CHECK(back.params[s] == params[s].cast<float>().cast<double>());
  CHECK(f32.read().size() < file.read().size());
}

TEST_CASE("Checkpoint: training resumed from a checkpoint continues step for step", "[io][checkpoint]") {
  gnnpool::AdamOptions options;
  options.lr = 0.05;
  options.weight_decay = 0.01;
  auto straight = model<double>(3);
  Adam<double> adam(straight, options);
  for (int t = 0; t < 5; ++t) adam.step(straight, gradient(straight, t));

  auto first = model<double>(3);
  Adam<double> adam1(first, options);
  for (int t = 0; t < 3; ++t) adam1.step(first, gradient(first, t));
  TempFile file("adam");
  gnnpool::save_checkpoint(file.path, first, adam1);

  auto resumed = model<double>(99);  // other values, same layout
  Adam<double> adam2(resumed, options);
  gnnpool::load_checkpoint(file.path, resumed, adam2);
  CHECK(adam2.steps() == 3);
  CHECK(equal(adam2.first_moment(), adam1.first_moment()));
  CHECK(equal(adam2.second_moment(), adam1.second_moment()));
  for (int t = 3; t < 5; ++t) adam2.step(resumed, gradient(resumed, t));
  CHECK(equal(resumed, straight));
  // The same file loads the parameters alone too.
  auto only = model<double>(7);
  gnnpool::load_checkpoint(file.path, only);
  CHECK(equal(only, first));
}

TEST_CASE("Checkpoint: a model of another layout or a file without optimiser state is refused",
          "[io][checkpoint][errors]") {
  const auto params = model<double>(1);
  TempFile file("layout");
  gnnpool::save_checkpoint(file.path, params);
  ParameterSet<double> other;
  other.add("conv.lin.weight", 4, 3);
  require_throws_with<gnnpool::shape_error>([&] { gnnpool::load_checkpoint(file.path, other); },
                                            {"load_checkpoint", "holds 4 tensors but the model has 1"});
  ParameterSet<double> renamed;
  renamed.add("conv.lin.weight", 4, 3);
  renamed.add("conv.bias", 1, 4);
  renamed.add("empty", 0, 5);
  renamed.add("head.W", 2, 4);
  require_throws_with<gnnpool::shape_error>([&] { gnnpool::load_checkpoint(file.path, renamed); },
                                            {"tensor 3", "'head.weight'", "'head.W'"});
  ParameterSet<double> reshaped;
  reshaped.add("conv.lin.weight", 3, 4);
  reshaped.add("conv.bias", 1, 4);
  reshaped.add("empty", 0, 5);
  reshaped.add("head.weight", 2, 4);
  const auto before = reshaped;
  require_throws_with<gnnpool::shape_error>([&] { gnnpool::load_checkpoint(file.path, reshaped); },
                                            {"'conv.lin.weight' is 4 x 3", "3 x 4 in the model"});
  CHECK(equal(reshaped, before));  // untouched
  auto target = model<double>(2);
  Adam<double> adam(target);
  require_throws_with<gnnpool::error>([&] { gnnpool::load_checkpoint(file.path, target, adam); },
                                      {"parameters only", "no optimiser state"});
}

TEST_CASE("Checkpoint: corrupt, truncated and foreign files are rejected with a clear error",
          "[io][checkpoint][errors]") {
  auto params = model<double>(4);
  Adam<double> adam(params);
  adam.step(params, gradient(params, 0));
  TempFile file("corrupt");
  gnnpool::save_checkpoint(file.path, params, adam);
  const auto good = file.read();
  REQUIRE(good.size() > 40);

  require_throws_with<parse_error>([&] { gnnpool::read_checkpoint<double>(file.path + ".missing"); },
                                   {".missing", "cannot open"});
  auto bytes = good;
  bytes[3] = 'X';
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::read_checkpoint<double>(file.path); }, {"not a gnnpool checkpoint"});
  bytes = good;
  bytes[8] = 9;
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::read_checkpoint<double>(file.path); }, {"format version 9"});
  bytes = good;
  bytes[12] = 3;
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::read_checkpoint<double>(file.path); }, {"scalar size 3"});
  // Every truncation fails with a parse_error naming the file (never a crash or a partial load).
  for (std::size_t n = 0; n < good.size(); ++n) {
    file.write(std::vector<unsigned char>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)));
    require_throws_with<parse_error>([&] { gnnpool::read_checkpoint<double>(file.path); }, {file.path});
  }
  bytes = good;
  bytes.push_back(0);
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::read_checkpoint<double>(file.path); }, {"1 unexpected bytes"});
  bytes = good;
  bytes[60] ^= 0x10;  // inside the payload
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::read_checkpoint<double>(file.path); }, {"corrupt", "checksum"});
  // Under a valid checksum: a huge name length, a huge shape, a bad flag, a duplicate name.
  bytes = good;
  bytes[32 + 16 + 6] = 0x7f;  // the first name length
  reseal(bytes);
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::read_checkpoint<double>(file.path); },
                                   {"corrupt at byte 48", "a name length"});
  bytes = good;
  const std::size_t rows_at = 32 + 16 + 8 + std::string("conv.lin.weight").size();
  bytes[rows_at + 8 + 5] = 0x40;  // the first column count
  reseal(bytes);
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::read_checkpoint<double>(file.path); },
                                   {"corrupt at byte " + std::to_string(rows_at + 8), "'conv.lin.weight' is 4 x"});
  bytes = good;
  bytes[32] = 2;
  reseal(bytes);
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::read_checkpoint<double>(file.path); }, {"optimiser flag is 2"});
  bytes = good;
  bytes[32 + 16 + 8] = 'e';  // "conv.lin.weight" -> "eonv.lin.weight": still unique
  bytes[32 + 16 + 8 + 1] = 'm';
  reseal(bytes);
  file.write(bytes);
  CHECK_NOTHROW(gnnpool::read_checkpoint<double>(file.path));
  ParameterSet<double> dup;
  dup.add("a", 1, 1);
  dup.add("b", 1, 1);
  TempFile twice("dup");
  gnnpool::save_checkpoint(twice.path, dup);
  bytes = twice.read();
  bytes[32 + 16 + 33 + 8] = 'a';  // the second name: after record 1 (8 + 1 + 8 + 8 + 8 bytes) and its length
  reseal(bytes);
  twice.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::read_checkpoint<double>(twice.path); },
                                   {"corrupt at byte", "registered twice"});
}

}  // namespace gnnpool_test_io_checkpoint
