# The API reference (Doxygen), over the public headers only. The target smux_docs builds it on
# request (it is not part of `all`); the test docs.api_reference builds it too and fails on any
# Doxygen warning, so an undocumented public member or a broken reference fails the suite.
# The test docs.snippets checks that the code in the guides is the examples' code.
set(_smux_docs_tests OFF)
if(SMUX_BUILD_TESTS AND NOT SMUX_TESTS_THREADED_ONLY AND NOT SMUX_SANITIZE)
  set(_smux_docs_tests ON)
endif()

find_package(Python3 COMPONENTS Interpreter)
if(_smux_docs_tests AND Python3_Interpreter_FOUND)
  add_test(NAME docs.snippets COMMAND Python3::Interpreter "${PROJECT_SOURCE_DIR}/docs/check-snippets.py")
  set_tests_properties(docs.snippets PROPERTIES LABELS "docs" TIMEOUT 60)
endif()

find_package(Doxygen)
if(NOT DOXYGEN_FOUND)
  message(STATUS "doxygen not found: no smux_docs target and no docs test")
  return()
endif()

set(SMUX_DOCS_OUTPUT_DIR "${PROJECT_BINARY_DIR}/docs")
configure_file("${PROJECT_SOURCE_DIR}/docs/Doxyfile.in" "${SMUX_DOCS_OUTPUT_DIR}/Doxyfile" @ONLY)

add_custom_target(smux_docs
  COMMAND Doxygen::doxygen "${SMUX_DOCS_OUTPUT_DIR}/Doxyfile"
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
  COMMENT "API reference: ${SMUX_DOCS_OUTPUT_DIR}/html/index.html"
  VERBATIM)

if(_smux_docs_tests)
  add_test(NAME docs.api_reference
           COMMAND Doxygen::doxygen "${SMUX_DOCS_OUTPUT_DIR}/Doxyfile"
           WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}")
  set_tests_properties(docs.api_reference PROPERTIES LABELS "docs" TIMEOUT 120)
endif()
