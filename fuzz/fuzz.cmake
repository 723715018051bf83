# The libFuzzer build of Quidditch (docs/fuzzing.md), injected into the root project without
# changing it: configure the repository with
#   cmake -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
#         -DCMAKE_PROJECT_quidditch_INCLUDE=$PWD/fuzz/fuzz.cmake
# CMake includes this file right after project(quidditch). Everything compiled afterwards is
# instrumented for libFuzzer's coverage feedback and built with AddressSanitizer and
# UndefinedBehaviorSanitizer; fuzz/targets.cmake, which adds the fuzz targets, is included once
# the root file has defined the project's libraries (a deferred call).
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "the fuzz build needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++-14")
endif()

# -O1 with line tables: fast enough to fuzz, readable stacks, asserts on (no NDEBUG).
add_compile_options(-O1 -gline-tables-only
                    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                    -fno-sanitize-recover=undefined)
add_link_options(-fsanitize=address,undefined)

set(QUIDDITCH_FUZZ_DIR "${CMAKE_CURRENT_LIST_DIR}")
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL include "${QUIDDITCH_FUZZ_DIR}/targets.cmake")
