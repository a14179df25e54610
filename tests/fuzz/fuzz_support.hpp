#ifndef GNNPOOL_TESTS_FUZZ_SUPPORT_HPP
#define GNNPOOL_TESTS_FUZZ_SUPPORT_HPP

// Shared by the libFuzzer harnesses of tests/fuzz/: reading the fuzzer's bytes, scratch files for
// the readers (which take paths), and the one rule every harness enforces: an input may end in
// a gnnpool error or in a valid, finite result, and in nothing else. Anything else (another
// exception type, an internal assertion, a non-finite value, an invalid batch) aborts, so that
// libFuzzer records the input as a crash.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include <unistd.h>

namespace gnnpool::fuzz {

/// Prints why the input is a finding and aborts (libFuzzer saves the input as crash-*).
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "gnnpool fuzz finding: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

/// Consumes the fuzzer's bytes from the front; past the end every read gives 0.
class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : m_data(data), m_size(size) {}
  std::uint8_t byte() { return m_pos < m_size ? m_data[m_pos++] : 0; }
  bool flag() { return (byte() & 1u) != 0; }
  /// A value in [0, n) (n >= 1).
  std::size_t pick(std::size_t n) { return byte() % n; }
  template <typename T, std::size_t N>
  T pick_from(const T (&table)[N]) { return table[pick(N)]; }
  /// The bytes not consumed yet.
  std::string_view rest() const {
    return {reinterpret_cast<const char*>(m_data) + m_pos, m_size - m_pos};
  }

 private:
  const std::uint8_t* m_data;
  std::size_t m_size;
  std::size_t m_pos = 0;
};

/// Calls `f.template operator()<float>()` or `<double>()`: one harness body for both precisions.
template <typename F>
void with_scalar(bool single, F&& f) {
  if (single) f.template operator()<float>();
  else f.template operator()<double>();
}

/// `text` cut at every NUL byte: a multi-file input (TU's five files, LINQS' two).
inline std::vector<std::string_view> split_files(std::string_view text, std::size_t parts) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < parts) {
    const std::size_t cut = text.find('\0');
    if (cut == std::string_view::npos) break;
    out.push_back(text.substr(0, cut));
    text.remove_prefix(cut + 1);
  }
  out.push_back(text);
  while (out.size() < parts) out.emplace_back();
  return out;
}

/// A folder of this process's own under the temp dir (the harnesses run one input at a time, so
/// one folder per process is enough; parallel fuzzing jobs are separate processes).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto p = std::filesystem::temp_directory_path() / ("gnnpool_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(p);
    return p;
  }();
  return dir;
}

/// Writes `bytes` to `path` (replacing it).
inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) finding("cannot write the scratch file " + path.string());
}

/// Runs `f`; a gnnpool error of an allowed kind ends the input normally, anything else is a
/// finding. Returns true when f returned.
template <typename F>
bool expect_clean(F&& f, bool allow_argument_errors) {
  try {
    f();
    return true;
  } catch (const gnnpool::parse_error&) {
    return false;
  } catch (const gnnpool::shape_error& e) {
    if (!allow_argument_errors) finding(std::string("unexpected shape_error: ") + e.what());
    return false;
  } catch (const gnnpool::invalid_argument& e) {
    if (!allow_argument_errors) finding(std::string("unexpected invalid_argument: ") + e.what());
    return false;
  } catch (const gnnpool::assertion_error& e) {
    finding(std::string("internal assertion: ") + e.what());
  } catch (const gnnpool::error& e) {
    if (!allow_argument_errors) finding(std::string("unexpected gnnpool::error: ") + e.what());
    return false;
  } catch (const std::exception& e) {
    finding(std::string("not a gnnpool error: ") + typeid(e).name() + ": " + e.what());
  }
}

/// A reader's result must be a valid batch with finite features and weights.
template <typename Scalar>
void check_result(const Batch<Scalar>& b, std::string_view reader) {
  try {
    check_batch(b, reader);
  } catch (const std::exception& e) {
    finding(std::string(reader) + " returned an invalid batch: " + e.what());
  }
  if (!b.x.allFinite()) finding(std::string(reader) + " returned non-finite features");
}

}  // namespace gnnpool::fuzz

#endif
