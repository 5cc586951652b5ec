# thunder_module(NAME [DEPS module...] [LIBS target...])
#
# Declares the library of src/NAME: every *.cc in the folder except *_test.cc and *_fuzz.cc.
# DEPS are other Thunder modules and must come earlier in THUNDER_MODULE_ORDER (the dependency
# order of DESIGN.md); LIBS are third-party targets. A module links only what it declares, and
# tests/module_deps_check.cmake (run by ctest) refuses an #include of an undeclared module.
# Each unit test file beside the code (x_test.cc) becomes the executable thunder_NAME_x_test.
set(THUNDER_MODULE_ORDER base crypto io content net fetcher handshake ipc executor ledger network
                         runtime gateway node)

function(thunder_module NAME)
  cmake_parse_arguments(ARG "" "" "DEPS;LIBS;TEST_LIBS" ${ARGN})
  list(FIND THUNDER_MODULE_ORDER ${NAME} _self)
  if(_self EQUAL -1)
    message(FATAL_ERROR "module '${NAME}' is not in THUNDER_MODULE_ORDER")
  endif()
  foreach(_dep IN LISTS ARG_DEPS)
    list(FIND THUNDER_MODULE_ORDER ${_dep} _pos)
    if(_pos EQUAL -1 OR NOT _pos LESS _self)
      message(FATAL_ERROR "module '${NAME}' may not depend on '${_dep}' (see DESIGN.md order)")
    endif()
  endforeach()

  file(GLOB _all CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  set(_src ${_all})
  list(FILTER _src EXCLUDE REGEX "_(test|fuzz)\\.cc$")
  set(_tests ${_all})
  list(FILTER _tests INCLUDE REGEX "_test\\.cc$")

  list(TRANSFORM ARG_DEPS PREPEND thunder_ OUTPUT_VARIABLE _dep_targets)
  if(_src)
    add_library(thunder_${NAME} STATIC ${_src})
    set(_scope PUBLIC)
  else()  # a module that is still only headers
    add_library(thunder_${NAME} INTERFACE)
    set(_scope INTERFACE)
  endif()
  target_include_directories(thunder_${NAME} ${_scope} ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(thunder_${NAME} ${_scope} ${_dep_targets} ${ARG_LIBS})
  string(REPLACE ";" "," _deps_csv "${ARG_DEPS}")
  set_property(GLOBAL APPEND PROPERTY THUNDER_MODULE_DEPS "${NAME}:${_deps_csv}")

  # One test executable per *_test.cc, so a module's test files build and fail independently.
  foreach(_test IN LISTS _tests)
    get_filename_component(_stem ${_test} NAME_WE)
    set(_exe thunder_${NAME}_${_stem})
    add_executable(${_exe} ${_test})
    target_link_libraries(${_exe} PRIVATE thunder_${NAME} ${ARG_TEST_LIBS}
                          GTest::gtest GTest::gmock GTest::gtest_main)
    target_compile_definitions(${_exe} PRIVATE
      THUNDER_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
      THUNDER_FIXTURES_DIR="${PROJECT_SOURCE_DIR}/../shared/fixtures")
    gtest_discover_tests(${_exe} DISCOVERY_TIMEOUT 60
                         PROPERTIES LABELS "unit;${NAME}" TIMEOUT 300)
  endforeach()
endfunction()
