# Install check (tests/consumer/check.sh): install this build into a
# temporary prefix, then build and run a C and a C++ consumer through
# find_package(asyncsync) and through pkg-config.  Not registered for
# sanitized builds: their installed library needs the sanitizer runtimes
# linked into every consumer.  Nor for cross builds (Windows): the check
# builds and runs its consumers with the host's compiler.
if(ASYNCSYNC_SANITIZE STREQUAL "" AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME consumer.install
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/consumer/check.sh
            ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  set_tests_properties(consumer.install PROPERTIES
    LABELS install
    TIMEOUT 300
    SKIP_RETURN_CODE 77)
endif()
