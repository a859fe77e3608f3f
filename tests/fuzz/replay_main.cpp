// Replays fuzz inputs without libFuzzer: runs LLVMFuzzerTestOneInput on every file under the
// directories given (a target's corpus and its regressions), so every normal test run
// re-checks each input that ever crashed a fuzzer. Hidden files (.gitkeep) are skipped.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path dir = argv[i];
    if (!fs::is_directory(dir)) {
      std::fprintf(stderr, "replay: %s is not a directory\n", argv[i]);
      return 2;
    }
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.is_regular_file() && e.path().filename().string().front() != '.') {
        files.push_back(e.path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<char> content{std::istreambuf_iterator<char>(in), {}};
    // An exact-size heap copy, so a sanitizer build catches reads past the end.
    const auto buf = std::make_unique<std::uint8_t[]>(content.size());
    std::copy(content.begin(), content.end(), buf.get());
    std::printf("replay: %s (%zu bytes)\n", f.c_str(), content.size());
    std::fflush(stdout);  // the last line printed names the input if the target crashes
    LLVMFuzzerTestOneInput(buf.get(), content.size());
  }
  std::printf("replay: %zu inputs passed\n", files.size());
  return 0;
}
