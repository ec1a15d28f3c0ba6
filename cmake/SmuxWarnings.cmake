# Warnings for the project's own targets only (never global flags), and Asio's deprecated
# names hidden from the project's code (not from its consumers': smux::asio does not set it).
function(smux_set_warnings target)
  target_compile_definitions(${target} PRIVATE ASIO_NO_DEPRECATED)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                             -Wno-sign-conversion
                                             -Wno-missing-field-initializers)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
      # GCC 12 false positives: string concatenation seen as an overlapping memcpy at -O2
      # (GCC bug 105329), and Asio's coroutine frames seen as mismatched new/delete.
      target_compile_options(${target} PRIVATE -Wno-restrict -Wno-mismatched-new-delete)
    endif()
    if(SMUX_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
