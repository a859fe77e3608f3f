# The fuzz targets, shared by the libFuzzer build (fuzz/CMakeLists.txt, clang) and the
# regression replay of the normal test run (tests/CMakeLists.txt, any compiler).
set(RELAY_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
set(RELAY_FUZZ_TARGETS record frames noise_responder noise_initiator noise_transport envelope
                       input console key_files)

# Pure parsers that live in Asio-linking layers: their sources are compiled in directly.
set(_src ${PROJECT_SOURCE_DIR}/src)
set(relay_fuzz_input_sources ${_src}/client/input.cpp ${_src}/client/display.cpp
                              ${_src}/term/text_width.cpp ${_src}/term/wrap.cpp)
set(relay_fuzz_key_files_sources ${_src}/server/relay_key.cpp ${_src}/client/contacts.cpp
                                 ${_src}/client/chat.cpp)

# relay_fuzz_executable(<exe> <target> [extra sources...]): <target>_fuzz.cpp on the
# Boost-free layers.
function(relay_fuzz_executable exe target)
  add_executable(${exe} ${RELAY_FUZZ_DIR}/${target}_fuzz.cpp ${relay_fuzz_${target}_sources}
                        ${ARGN})
  target_include_directories(${exe} PRIVATE ${RELAY_FUZZ_DIR})
  target_link_libraries(${exe} PRIVATE relay_proto relay_crypto relay_transport relay_console
                                       relay_util relay_warnings)
endfunction()
