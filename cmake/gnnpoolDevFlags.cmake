# Flags for gnnpool's OWN targets (tests, examples, benchmarks); never attached to `gnnpool`.
add_library(gnnpool_dev_flags INTERFACE)
target_compile_options(gnnpool_dev_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror)
if(GNNPOOL_SANITIZE)
  target_compile_options(gnnpool_dev_flags INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(gnnpool_dev_flags INTERFACE -fsanitize=address,undefined)
endif()
