#ifndef GNNPOOL_TESTS_SUPPORT_TEMP_FILE_HPP
#define GNNPOOL_TESTS_SUPPORT_TEMP_FILE_HPP

// `TempFile`: a file in the temporary directory, removed at the end of its scope, with byte-level
// read and write (the file-format tests corrupt files on purpose).

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace gnnpool::test {

struct TempFile {
  std::string path;
  /// A unique name made of `prefix`, `name` and the object's address.
  TempFile(const std::string& prefix, const std::string& name)
      : path((std::filesystem::temp_directory_path() /
              (prefix + name + "_" + std::to_string(reinterpret_cast<std::uintptr_t>(this))))
                 .string()) {}
  ~TempFile() { std::remove(path.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  std::vector<unsigned char> read() const {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  void write(const std::vector<unsigned char>& bytes) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
};

}  // namespace gnnpool::test

#endif
