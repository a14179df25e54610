#ifndef GNNPOOL_TESTS_IO_SUPPORT_HPP
#define GNNPOOL_TESTS_IO_SUPPORT_HPP

// Helpers shared by the reader tests: a scratch folder for small bad files, the bundled data
// folder, and a check that a call throws parse_error with a message holding given fragments.

#include <gnnpool/core/errors.hpp>

#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace gnnpool::test {

/// The repository's data/ folder (GNNPOOL_SOURCE_DIR is set by tests/CMakeLists.txt).
inline std::filesystem::path data_dir() { return std::filesystem::path(GNNPOOL_SOURCE_DIR) / "data"; }

/// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    m_path = std::filesystem::temp_directory_path() /
             ("gnnpool_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(m_path);
    std::filesystem::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return m_path; }

  /// Writes `content` byte for byte (no newline translation) to `name` and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& content) const {
    const auto p = m_path / name;
    std::ofstream out(p, std::ios::binary);
    out << content;
    return p;
  }

 private:
  std::filesystem::path m_path;
};

/// Runs `f` and requires a parse_error whose message contains every fragment.
template <typename F>
void require_parse_error(F&& f, const std::vector<std::string>& fragments) {
  require_throws_with<gnnpool::parse_error>(std::forward<F>(f), fragments);
}

}  // namespace gnnpool::test

#endif
