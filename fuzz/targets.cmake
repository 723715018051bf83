# libFuzzer targets; included at the end of the root project by fuzz/fuzz.cmake (see there and
# docs/fuzzing.md), never by an ordinary configure.

# fuzz_rest: raw HTTP request bytes -> ParseHttpRequest -> the REST Router, plus the body
# through the Query DSL, aggregation and mapping parsers.
add_executable(fuzz_rest "${QUIDDITCH_FUZZ_DIR}/fuzz_rest.cc"
               "${CMAKE_SOURCE_DIR}/src/controlplane/testing/direct_control_plane.cc")
target_compile_options(fuzz_rest PRIVATE ${QUIDDITCH_WARNINGS})
target_link_libraries(fuzz_rest PRIVATE qd_coordination)
target_link_options(fuzz_rest PRIVATE -fsanitize=fuzzer)

# fuzz_http: the HTTP layer alone (parser, target decoding, compression, Router with the root
# endpoints). Built from the HTTP sources directly, so it needs none of the engine.
add_executable(fuzz_http "${QUIDDITCH_FUZZ_DIR}/fuzz_http.cc"
               "${CMAKE_SOURCE_DIR}/src/coordination/http_server.cc"
               "${CMAKE_SOURCE_DIR}/src/coordination/http_types.cc"
               "${CMAKE_SOURCE_DIR}/src/coordination/rest_root.cc")
target_include_directories(fuzz_http PRIVATE "${CMAKE_SOURCE_DIR}/src")
target_compile_options(fuzz_http PRIVATE ${QUIDDITCH_WARNINGS})
target_link_libraries(fuzz_http PRIVATE qd_common Boost::headers ZLIB::ZLIB
                      nlohmann_json::nlohmann_json)
target_link_options(fuzz_http PRIVATE -fsanitize=fuzzer)

# clang 14 with libstdc++ 12 rejects src/common/config.cc (its recursive `Value` holds a
# std::vector<std::pair<std::string, Value>>, which needs the pair complete while Value is
# still being defined). The fuzz targets do not read configuration files, so the fuzz build
# leaves that file out of qd_common until it compiles with clang.
get_target_property(QUIDDITCH_FUZZ_COMMON_SRCS qd_common SOURCES)
list(FILTER QUIDDITCH_FUZZ_COMMON_SRCS EXCLUDE REGEX "/src/common/config\\.cc$")
set_target_properties(qd_common PROPERTIES SOURCES "${QUIDDITCH_FUZZ_COMMON_SRCS}")
