# Precompiled headers: GoogleTest, Boost.JSON/Beast and the standard library are parsed once per build tree
# instead of once per translation unit. Each family has one owner target that builds the .gch; every other
# target of the family reuses it (REUSE_FROM), which needs the same compiler flags: the owners link what the
# users link, and the sanitizer flags are global. A PCH that does not match is an error (-Winvalid-pch under
# -Werror), not a silent slowdown. -DSTSVEND_PCH=OFF builds without them (e.g. to check include-what-you-use).
#
#   family      owner                    users
#   lib         stsvend_common           stsvend_sts, _store, _vault, _service  (standard library only)
#   api         stsvend_api              stsvend (CLI)                          (+ Boost.JSON, Boost.Beast http)
#   test        stsvend_test_pch         every stsvend_add_test target          (+ GoogleTest)
#   api_test    stsvend_api_test_pch     stsvend_add_test(... PCH api_test)     (+ GoogleTest, Boost)
option(STSVEND_PCH "Precompile GoogleTest, Boost and standard headers" ON)

set(STSVEND_PCH_STD
  <algorithm> <array> <atomic> <chrono> <cstddef> <cstdint> <cstdio> <cstdlib> <cstring> <exception>
  <filesystem> <fstream> <functional> <map> <memory> <mutex> <optional> <set> <span> <sstream> <string>
  <string_view> <thread> <unordered_map> <utility> <vector>)
set(STSVEND_PCH_BOOST <boost/json.hpp> <boost/beast/http.hpp>)

# stsvend_pch(<target> <family>): <target> owns (lib, api) or reuses the family's PCH.
function(stsvend_pch target family)
  if(NOT STSVEND_PCH)
    return()
  endif()
  if(family STREQUAL "lib")
    if(target STREQUAL "stsvend_common")
      target_precompile_headers(${target} PRIVATE ${STSVEND_PCH_STD})
    else()
      target_precompile_headers(${target} REUSE_FROM stsvend_common)
    endif()
  elseif(family STREQUAL "api")
    if(target STREQUAL "stsvend_api")
      target_precompile_headers(${target} PRIVATE ${STSVEND_PCH_STD} ${STSVEND_PCH_BOOST})
    else()
      target_precompile_headers(${target} REUSE_FROM stsvend_api)
    endif()
  elseif(family STREQUAL "test" OR family STREQUAL "api_test")
    if(TARGET stsvend_${family}_pch)
      target_precompile_headers(${target} REUSE_FROM stsvend_${family}_pch)
    endif()
  else()
    message(FATAL_ERROR "stsvend_pch: unknown family '${family}'")
  endif()
endfunction()

# stsvend_test_pch_owners(): the two test PCH owners, empty object libraries linked like their users.
function(stsvend_test_pch_owners)
  if(NOT STSVEND_PCH)
    return()
  endif()
  set(anchor ${PROJECT_SOURCE_DIR}/cmake/pch_anchor.cc)
  add_library(stsvend_test_pch OBJECT ${anchor})
  target_link_libraries(stsvend_test_pch PRIVATE GTest::gtest)
  stsvend_warnings(stsvend_test_pch)
  target_precompile_headers(stsvend_test_pch PRIVATE <gtest/gtest.h> ${STSVEND_PCH_STD})
  if(TARGET stsvend_api)
    add_library(stsvend_api_test_pch OBJECT ${anchor})
    target_link_libraries(stsvend_api_test_pch PRIVATE stsvend_api GTest::gtest)
    stsvend_warnings(stsvend_api_test_pch)
    target_precompile_headers(stsvend_api_test_pch PRIVATE <gtest/gtest.h> ${STSVEND_PCH_STD} ${STSVEND_PCH_BOOST})
  endif()
endfunction()
