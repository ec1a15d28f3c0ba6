# SMUX_SANITIZE is a list such as "address;undefined" or "thread"; it applies to the
# project's own targets only.
function(smux_set_sanitizers target)
  if(NOT SMUX_SANITIZE)
    return()
  endif()
  list(JOIN SMUX_SANITIZE "," _list)
  set(_flags -fsanitize=${_list} -fno-omit-frame-pointer)
  if("undefined" IN_LIST SMUX_SANITIZE)
    list(APPEND _flags -fno-sanitize-recover=undefined)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
      # clang 14: UBSan's function check cannot compile C++20 coroutines.
      list(APPEND _flags -fno-sanitize=function)
    endif()
  endif()
  if("thread" IN_LIST SMUX_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # Asio uses std::atomic_thread_fence, which GCC warns TSan does not model; the fences
    # only back up atomics that TSan does see.
    list(APPEND _flags -Wno-tsan)
  endif()
  target_compile_options(${target} PRIVATE ${_flags})
  target_link_options(${target} PRIVATE ${_flags})
endfunction()
