# Process-shared primitives (issue 14, docs/pshared.md): the kernel facts
# the design stands on, checked on the running kernel by a standalone
# program (no library code yet): IORING_OP_FUTEX_WAIT on a shared (not
# private) futex word of a MAP_SHARED page or a memfd, woken from another
# process by futex(2) or by a FUTEX_WAKE SQE; the kernel's value check
# against a racing store + wake; ASYNC_CANCEL of a parked wait, before and
# after a wake; a waiter killed while parked; death notice through a pidfd
# polled on a ring; FUTEX_WAITV; the robust-list death handling waking an
# io_uring waiter.  Exit 77 (skipped) where the kernel lacks the io_uring
# futex opcodes (Linux 6.7+) or io_uring is not allowed.
if(NOT ASYNCSYNC_HAVE_URING)
  return()
endif()

add_executable(futex_xproc ${CMAKE_CURRENT_SOURCE_DIR}/pshared/futex_xproc.c)
target_link_libraries(futex_xproc PRIVATE PkgConfig::URING)
target_compile_definitions(futex_xproc PRIVATE _GNU_SOURCE)
as_target_warnings(futex_xproc)
add_test(NAME pshared.futex_xproc COMMAND futex_xproc)
set_tests_properties(pshared.futex_xproc PROPERTIES
  TIMEOUT 120
  SKIP_RETURN_CODE 77
  LABELS "pshared;uring")

# Conformance of the process-shared semaphore (tests/test_pshared.c): forked
# workers, each with a ring loop of its own, on an AS_PSHARED semaphore in
# a MAP_SHARED mapping.  Per backend: on generic the async rows are skipped
# and the -EOPNOTSUPP rows check what such loops answer.
as_add_test(test_pshared SOURCES test_pshared.c harness.c
  LABELS conformance pshared TIMEOUT 180)

# A loop's cohort on a process-shared mutex (tests/test_cohort.c,
# src/cohort_ps.c): one test per invariant K1-K7, in one process (threads
# as the other side); ring loops only.
as_add_test(test_cohort SOURCES test_cohort.c harness.c BACKENDS uring
  LABELS conformance pshared TIMEOUT 120)

# The same conformance rows with the loops' cohorts off
# (ASYNCSYNC_PS_COHORT=0, as AS_LOOP_PS_NO_COHORT): every mutex wait in a
# slot of its own.
add_test(NAME test_pshared.nocohort COMMAND test_pshared)
set_tests_properties(test_pshared.nocohort PROPERTIES
  ENVIRONMENT "ASYNCSYNC_BACKEND=uring;ASYNCSYNC_PS_COHORT=0"
  TIMEOUT 180
  SKIP_RETURN_CODE 77
  LABELS "conformance;pshared;uring")

# Randomized stress across processes (tests/pshared/stress_ps.c): 4 worker
# processes x 16 tasks on one AS_PSHARED semaphore of 3 permits (async,
# with deadlines, cancelled from another thread, blocking), started by a
# shared event, counted out by a shared latch, stopped by a second event;
# workers killed with SIGKILL mid-run; the permit bound, exactly-once
# callbacks and the survivors' progress checked in shared memory.  A fixed
# seed (replayable) and a fresh one per run (printed).  An odd seed runs
# the semaphore and the mutex strict, an even one with the default policy
# (docs/pshared.md 6.3): seed-1 and seed-2 (kills) and nokill (seed 4).
add_executable(stress_ps ${CMAKE_CURRENT_SOURCE_DIR}/pshared/stress_ps.c)
target_link_libraries(stress_ps PRIVATE asyncsync::asyncsync PkgConfig::URING Threads::Threads)
as_target_warnings(stress_ps)
if(ASYNCSYNC_SANITIZE STREQUAL "")
  set(AS_PS_STRESS_ROUNDS 20000)
else()
  set(AS_PS_STRESS_ROUNDS 3000)
endif()
foreach(seed 1 2 random)
  if(seed STREQUAL "random")
    set(seed_arg)
  else()
    set(seed_arg --seed ${seed})
  endif()
  add_test(NAME pshared.stress.seed-${seed}
    COMMAND stress_ps ${seed_arg} --rounds ${AS_PS_STRESS_ROUNDS} --kill 2)
  set_tests_properties(pshared.stress.seed-${seed} PROPERTIES
    TIMEOUT 300
    SKIP_RETURN_CODE 77
    LABELS "stress;pshared;uring")
endforeach()
add_test(NAME pshared.stress.nokill
  COMMAND stress_ps --seed 4 --rounds ${AS_PS_STRESS_ROUNDS} --kill 0)
set_tests_properties(pshared.stress.nokill PROPERTIES
  TIMEOUT 300
  SKIP_RETURN_CODE 77
  LABELS "stress;pshared;uring")

# The default-policy stress (even seeds) with the loops' cohorts off.
add_test(NAME pshared.stress.nocohort
  COMMAND stress_ps --seed 2 --rounds ${AS_PS_STRESS_ROUNDS} --kill 2)
set_tests_properties(pshared.stress.nocohort PROPERTIES
  ENVIRONMENT "ASYNCSYNC_PS_COHORT=0"
  TIMEOUT 300
  SKIP_RETURN_CODE 77
  LABELS "stress;pshared;uring")

# Named process-shared objects (tests/test_pshared_open.c): as_sem_open by
# name from unrelated processes (children that open the name themselves),
# O_CREAT / O_EXCL, racing creators, a creator killed or stopped mid-init
# (the library's test hook), -EPROTO, bad names, unmap and unlink.
as_add_test(test_pshared_open SOURCES test_pshared_open.c harness.c
  LABELS conformance pshared TIMEOUT 180)
