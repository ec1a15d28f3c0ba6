# Standalone Asio (Debian's libasio-dev) ships headers only, no CMake package: this creates
# the interface target smux::asio. Installed next to smuxConfig.cmake so consumers get it too.
if(TARGET smux::asio)
  return()
endif()

find_path(SMUX_ASIO_INCLUDE_DIR asio.hpp DOC "Directory holding standalone Asio's asio.hpp")
if(NOT SMUX_ASIO_INCLUDE_DIR)
  message(FATAL_ERROR "smux: standalone Asio >= 1.22 not found (Debian: apt-get install libasio-dev; "
                      "or set SMUX_ASIO_INCLUDE_DIR)")
endif()
file(STRINGS "${SMUX_ASIO_INCLUDE_DIR}/asio/version.hpp" _smux_asio_version_line
     REGEX "^#define ASIO_VERSION [0-9]+")
string(REGEX MATCH "[0-9]+" _smux_asio_version "${_smux_asio_version_line}")
if(_smux_asio_version LESS 102200)
  message(FATAL_ERROR "smux: Asio ${_smux_asio_version} is too old; 1.22 (102200) or newer is needed")
endif()

find_package(Threads REQUIRED)
add_library(smux::asio INTERFACE IMPORTED GLOBAL)
target_include_directories(smux::asio INTERFACE "${SMUX_ASIO_INCLUDE_DIR}")
# clang with libstdc++: Asio 1.22 only enables coroutines when it finds the libc++ header
# <experimental/coroutine>; libstdc++'s <coroutine> works, so say so. ASIO_NO_DEPRECATED is
# not imposed on consumers (their code may use io_service and other old names); the
# project's own targets set it privately (SmuxWarnings.cmake).
target_compile_definitions(smux::asio INTERFACE
  ASIO_STANDALONE
  $<$<CXX_COMPILER_ID:Clang>:ASIO_HAS_CO_AWAIT=1;ASIO_HAS_STD_COROUTINE=1>)
target_link_libraries(smux::asio INTERFACE Threads::Threads)
