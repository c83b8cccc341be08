# Conformance suite: one binary per file, registered once per backend
# (<name>.uring, <name>.generic; <name>.iocp on Windows) by as_add_test.
# Public API only.
# Sizes of the cross-thread tests scale with the TH_SCALE environment
# variable (default 1; shrunk automatically under ASan/TSan).
set(AS_CONFORMANCE_TESTS
  test_sem
  test_mutex
  test_cond
  test_event
  test_loop
  test_badinput
  test_deadline
  test_latch_barrier
  test_stats
  test_rwlock
  test_prims
)
foreach(t IN LISTS AS_CONFORMANCE_TESTS)
  as_add_test(${t} SOURCES ${t}.c harness.c LABELS conformance TIMEOUT 120)
endforeach()
as_add_test(test_threads SOURCES test_threads.c harness.c LABELS conformance threads TIMEOUT 300)
as_add_test(test_rwlock_threads SOURCES test_rwlock_threads.c harness.c LABELS conformance threads TIMEOUT 300)
