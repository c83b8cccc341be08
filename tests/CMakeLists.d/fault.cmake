# Fault injection on ring-bound loops (both backends): full SQ at park and at
# wake, CQ overflow, io_uring_submit failures (interposed), destroy with waits
# armed.  The binary defines io_uring_submit itself (see test_fault.c).
# io_uring only: the iocp backend's fault injection (refused posts) is in
# tests/win/test_iocp.c.
if(NOT ASYNCSYNC_HAVE_URING)
  return()
endif()

as_add_test(test_fault SOURCES fault/test_fault.c harness.c LABELS fault)
target_link_libraries(test_fault PRIVATE ${CMAKE_DL_LIBS})

# Ring flavours (SQPOLL with a full SQ at park and at teardown, IOPOLL,
# COOP_TASKRUN, DEFER_TASKRUN, SQE128|CQE32, registered ring fd), bad rings,
# fork(), more woken loops than message slots.
as_add_test(test_rings SOURCES fault/test_rings.c harness.c LABELS fault TIMEOUT 300)

# "Old kernel": the conformance suite again, under a seccomp filter that makes
# the io_uring probe fail (oldkernel checks the generic fallback and that a
# forced uring backend is refused, then execs the suite).
add_executable(oldkernel ${CMAKE_CURRENT_SOURCE_DIR}/fault/oldkernel.c)
target_link_libraries(oldkernel PRIVATE asyncsync::asyncsync Threads::Threads)
target_compile_definitions(oldkernel PRIVATE _GNU_SOURCE)
as_target_warnings(oldkernel)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  foreach(t test_sem test_mutex test_cond test_event test_prims test_loop test_badinput test_threads test_fault test_rings)
    if(TARGET ${t})
      add_test(NAME ${t}.oldkernel COMMAND oldkernel $<TARGET_FILE:${t}>)
      set_tests_properties(${t}.oldkernel PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77
        LABELS "fault;oldkernel")
    endif()
  endforeach()
endif()
