# Manual pages (tests/docs/manpages.sh): every public function of the header
# has a page in man/man3 whose SYNOPSIS declares it as the header does, and
# man -l and groff -ww render every page without a warning (exit 77, skipped,
# when neither is installed: scripts/deps installs man-db and groff-base).
# Host builds only (a bash script reading the source tree); not for
# sanitized builds, where it would only check the same files again.
if(NOT CMAKE_CROSSCOMPILING AND UNIX AND ASYNCSYNC_SANITIZE STREQUAL "")
  add_test(NAME docs.manpages
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/docs/manpages.sh ${PROJECT_SOURCE_DIR})
  set_tests_properties(docs.manpages PROPERTIES
    LABELS docs
    TIMEOUT 300
    SKIP_RETURN_CODE 77)
endif()
