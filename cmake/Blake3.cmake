# Builds BLAKE3 from the official C sources that Debian ships in librust-blake3-dev.
# The sources are found at configure time, never copied into this repository. All SIMD
# back ends are compiled (assembly on x86-64) and chosen at run time by blake3_dispatch.c.
file(GLOB _blake3_candidates LIST_DIRECTORIES true /usr/share/cargo/registry/blake3-*/c)
list(SORT _blake3_candidates COMPARE NATURAL ORDER DESCENDING)
find_path(BLAKE3_C_DIR blake3_impl.h PATHS ${_blake3_candidates} NO_DEFAULT_PATH
          DOC "Directory holding the official BLAKE3 C sources")
if(NOT BLAKE3_C_DIR)
  message(FATAL_ERROR "BLAKE3 C sources not found: run scripts/setup (package librust-blake3-dev)")
endif()
message(STATUS "BLAKE3 C sources: ${BLAKE3_C_DIR}")

set(_blake3_sources ${BLAKE3_C_DIR}/blake3.c ${BLAKE3_C_DIR}/blake3_dispatch.c
                    ${BLAKE3_C_DIR}/blake3_portable.c)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  foreach(_isa sse2 sse41 avx2 avx512)
    list(APPEND _blake3_sources ${BLAKE3_C_DIR}/blake3_${_isa}_x86-64_unix.S)
  endforeach()
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  list(APPEND _blake3_sources ${BLAKE3_C_DIR}/blake3_neon.c)
else()
  set(_blake3_defs BLAKE3_NO_SSE2 BLAKE3_NO_SSE41 BLAKE3_NO_AVX2 BLAKE3_NO_AVX512)
endif()

add_library(blake3_c STATIC ${_blake3_sources})
target_include_directories(blake3_c SYSTEM PUBLIC ${BLAKE3_C_DIR})
target_compile_definitions(blake3_c PUBLIC ${_blake3_defs})
set_target_properties(blake3_c PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 11)
target_compile_options(blake3_c PRIVATE -w)
