# Flags for gnnpool's OWN targets (tests, examples, benchmarks); never attached to `gnnpool`, so
# a consumer's build sees none of them.
add_library(gnnpool_dev_flags INTERFACE)
target_compile_options(gnnpool_dev_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror)
if(GNNPOOL_SANITIZE)
  # Any report aborts the test (no recovery), and libstdc++'s cheap bounds checks on
  # std::vector / std::span indexing are turned on as well.
  target_compile_options(gnnpool_dev_flags INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_compile_definitions(gnnpool_dev_flags INTERFACE _GLIBCXX_ASSERTIONS)
  target_link_options(gnnpool_dev_flags INTERFACE -fsanitize=address,undefined)
endif()
