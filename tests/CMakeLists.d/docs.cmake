# Every C code block of README.md and include/asyncsync.h compiles
# (tests/docs/snippets.sh).  Host builds only: it compiles with the host's
# compiler against liburing (and with mingw-w64 for the Windows blocks when
# installed).
if(NOT CMAKE_CROSSCOMPILING AND ASYNCSYNC_HAVE_URING)
  add_test(NAME docs.snippets
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/docs/snippets.sh
            ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/snippets)
  set_tests_properties(docs.snippets PROPERTIES LABELS docs TIMEOUT 120
    ENVIRONMENT "CC=${CMAKE_C_COMPILER}")
endif()
