# Windows only (<name>.iocp): what only the iocp backend has.  Refused
# PostQueuedCompletionStatus calls (the library's post is swapped for one that
# fails), application packets interleaved with the library's, as_loop_destroy
# while a wake packet is still in the port, as_loop_init_iocp and
# as_loop_handle_completion bad input.  The conformance suite covers the rest
# on iocp loops (tests/CMakeLists.d/conformance.cmake).
if(WIN32)
  as_add_test(test_iocp SOURCES win/test_iocp.c harness.c LABELS conformance TIMEOUT 120)
endif()
