# stsvend_warnings(<target>): our warning set on our own code; -Werror when STSVEND_WERROR is on (CI).
function(stsvend_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                         -Wcast-align -Wunused -Woverloaded-virtual)
  if(STSVEND_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# stsvend_add_test(<name> SOURCES ... LIBS ... [PCH api_test] [COST n]): one GoogleTest executable, every
# TEST its own CTest entry. PCH api_test: the sources use Boost.JSON/Beast and link stsvend_api (see
# StsvendPch.cmake). COST: a test of it takes seconds (RSA key generation, servers); ctest starts it early.
function(stsvend_add_test name)
  cmake_parse_arguments(ARG "" "PCH;COST" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  stsvend_warnings(${name})
  if(NOT ARG_PCH)
    set(ARG_PCH test)
  endif()
  stsvend_pch(${name} ${ARG_PCH})
  if(NOT ARG_COST)
    set(ARG_COST 0)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
                       PROPERTIES ENVIRONMENT "STSVEND_SOURCE_DIR=${PROJECT_SOURCE_DIR}" COST ${ARG_COST})
endfunction()
