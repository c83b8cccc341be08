# Promela models of the delivery path, of the semaphore and mutex
# wake/cancel protocols, of the round-2 cancel/deadline/close protocols
# (cancel.pml) and of the proposed process-shared slot protocol
# (pshared.pml, docs/pshared.md) and of the generation waits of shared
# events and latches (gwait.pml) and of the proposed cohort per loop of the
# process-shared mutex (cohort.pml), checked exhaustively with the SPIN model checker
# (tests/model/README.md; 278 checks, run on up to 4 CPUs: 1374 s of wall
# time in CI on 2 vCPUs beside the rest of the suite, 2026-12-05; the
# timeout leaves room for a slower or loaded 2-CPU machine).  run.sh exits 77 (skipped) when spin is not
# installed (scripts/deps installs it).  The models do not use the build, so
# a sanitized build tree (nor a Windows one) does not register them again.
if(ASYNCSYNC_SANITIZE STREQUAL "" AND NOT WIN32)
  add_test(NAME model.spin COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/model/run.sh)
  set_tests_properties(model.spin PROPERTIES
    LABELS model
    TIMEOUT 3000
    SKIP_RETURN_CODE 77)
endif()
