# Shared libraries (BUILD_SHARED_LIBS=ON) export only the public API. Every smux library is
# compiled with hidden visibility; what its public headers declare and src/ defines carries
# the library's export macro, from a header generated here and installed with the public
# headers:
#   smux_core      SMUX_CORE_EXPORT      smux/core/export.hpp
#   smux           SMUX_EXPORT           smux/export.hpp
#   smux_kcp       SMUX_KCP_EXPORT       smux/kcp/export.hpp
#   smux_kcp_asio  SMUX_KCP_ASIO_EXPORT  smux/kcp/asio/export.hpp
# (and SMUX_..._NO_EXPORT for a class that src/ defines inside an exported one). Static
# builds are compiled the same way; there visibility only matters to a consumer that links
# smux into a shared library of its own, which then re-exports nothing but smux's public API.
#
# Asio, header-only, is compiled into both the libraries and the program; what it keeps once
# per process (its error categories, which error codes compare by address, and the call
# stacks behind `running_in_this_thread`) stays shared between them because Asio declares
# everything with default visibility itself (asio/detail/push_options.hpp; not with
# ASIO_DISABLE_VISIBILITY). tests/package/consumer/main.cpp exercises both against the .so
# files.
include(GenerateExportHeader)

# Hidden visibility for `target` and its export header `header` (a path under include/ of the
# build tree, which the target's HEADERS file set must list) with the macros `<base>_EXPORT`.
function(smux_export_public_api target base header)
  set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden
                                             VISIBILITY_INLINES_HIDDEN ON)
  generate_export_header(${target} BASE_NAME ${base}
                         EXPORT_FILE_NAME "${PROJECT_BINARY_DIR}/include/${header}")
endfunction()
