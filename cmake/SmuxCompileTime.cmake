# Compile time of the tests, the examples and the tools, which include all of Asio and
# GoogleTest and dominate the build. The libraries (src/) use neither device below, so that
# every public header is still compiled on its own includes there.
#
# Precompiled headers: the standard library, Asio and GoogleTest are parsed once per build
# instead of once per translation unit. A precompiled header is valid only with the options it
# was made with, so there is one per kind of consumer, each made by a target of its own
# (smux_pch_<kind>) with the consumers' options: C++ standard, warnings, sanitizers and the
# definitions the headers read (Asio's, GoogleTest's). Consumers add only definitions that
# these headers do not read, and include directories.
option(SMUX_PRECOMPILED_HEADERS "Precompile the third-party headers of tests, examples and tools" ON)

set(_smux_pch_std
  <algorithm> <array> <atomic> <chrono> <condition_variable> <cstddef> <cstdint> <cstdio>
  <cstring> <deque> <exception> <functional> <iostream> <map> <memory> <mutex> <optional>
  <random> <set> <span> <sstream> <stdexcept> <string> <string_view> <system_error> <thread>
  <tuple> <type_traits> <utility> <variant> <vector>)
set(_smux_pch_asio
  <asio/any_io_executor.hpp> <asio/bind_cancellation_slot.hpp> <asio/bind_executor.hpp>
  <asio/buffer.hpp> <asio/cancellation_signal.hpp> <asio/co_spawn.hpp> <asio/compose.hpp>
  <asio/detached.hpp> <asio/dispatch.hpp> <asio/executor_work_guard.hpp>
  <asio/experimental/as_tuple.hpp> <asio/experimental/awaitable_operators.hpp>
  <asio/io_context.hpp> <asio/ip/tcp.hpp> <asio/ip/udp.hpp> <asio/post.hpp> <asio/read.hpp>
  <asio/signal_set.hpp> <asio/steady_timer.hpp> <asio/strand.hpp> <asio/this_coro.hpp>
  <asio/use_awaitable.hpp> <asio/write.hpp>)
set(_smux_pch_gtest <gtest/gtest.h>)

# The headers of each kind, and what its users link for them.
set(_smux_pch_engine_tests_headers ${_smux_pch_std} ${_smux_pch_gtest})
set(_smux_pch_engine_tests_libs GTest::gtest)
set(_smux_pch_asio_tests_headers ${_smux_pch_std} ${_smux_pch_asio} ${_smux_pch_gtest})
set(_smux_pch_asio_tests_libs smux::asio GTest::gtest)
set(_smux_pch_programs_headers ${_smux_pch_std} ${_smux_pch_asio})
set(_smux_pch_programs_libs smux::asio)

# g++ 12 reports false -Wstringop-overflow and -Warray-bounds on string concatenation once
# more code is seen together (GCC bug 105329, as -Wrestrict in SmuxWarnings.cmake), which a
# precompiled header and a unity batch both do: off for these targets only, not for the
# libraries.
function(smux_no_gcc12_string_warnings target)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-stringop-overflow -Wno-array-bounds)
  endif()
endfunction()

# smux_precompiled_headers(TARGET KIND [OWN]) gives TARGET the precompiled header of KIND:
#   engine_tests  the standard library and GoogleTest (tests without Asio)
#   asio_tests    the standard library, Asio and GoogleTest
#   programs      the standard library and Asio (examples, tools)
# OWN makes TARGET a copy of its own, for a target whose options differ from the shared
# header's (smux-tunnel is built for size).
function(smux_precompiled_headers target kind)
  if(NOT SMUX_PRECOMPILED_HEADERS)
    return()
  endif()
  if(NOT DEFINED _smux_pch_${kind}_headers)
    message(FATAL_ERROR "smux_precompiled_headers: no kind ${kind}")
  endif()
  smux_no_gcc12_string_warnings(${target})
  if("OWN" IN_LIST ARGN)
    target_precompile_headers(${target} PRIVATE ${_smux_pch_${kind}_headers})
    return()
  endif()
  set(owner smux_pch_${kind})
  if(NOT TARGET ${owner})
    # A target compiles its precompiled header only along with a source of its own.
    set(anchor "${PROJECT_BINARY_DIR}/pch/${kind}.cpp")
    file(CONFIGURE OUTPUT "${anchor}" CONTENT "// Anchors the precompiled header ${kind}.\n")
    add_library(${owner} OBJECT "${anchor}")
    target_link_libraries(${owner} PRIVATE ${_smux_pch_${kind}_libs})
    target_compile_features(${owner} PRIVATE cxx_std_20)
    smux_set_warnings(${owner})
    smux_set_sanitizers(${owner})
    target_precompile_headers(${owner} PRIVATE ${_smux_pch_${kind}_headers})
  endif()
  target_precompile_headers(${target} REUSE_FROM ${owner})
endfunction()

# Unity builds of the test executables: their sources are compiled in batches, so that the
# inline code of Asio and of the library's templates they all use is instantiated and
# optimised once per batch instead of once per source. The sources of one executable share
# one translation unit then: their file-local names (anonymous namespaces) must differ.
option(SMUX_UNITY_TESTS "Compile the sources of each test executable in batches (unity build)" ON)
set(SMUX_UNITY_BATCH_SIZE 8 CACHE STRING "Sources per batch of a test executable's unity build")

function(smux_unity_build target)
  if(SMUX_UNITY_TESTS)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON
                                               UNITY_BUILD_BATCH_SIZE ${SMUX_UNITY_BATCH_SIZE})
    smux_no_gcc12_string_warnings(${target})
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # g++ takes every source but the batch's own file for a header, and so reports the
      # coroutine frames of file-local templates as header types of internal linkage.
      target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
    endif()
  endif()
endfunction()
