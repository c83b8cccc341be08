# USDT tracepoints: the library carries every probe src/probes.h lists
# (probes.notes), and the README's bpftrace recipe runs against a program
# linked with it (probes.bpftrace; skipped where bpftrace cannot attach).
if(AS_HAVE_SDT_H AND ASYNCSYNC_PROBES AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME probes.notes
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/probes/check.sh notes
            ${PROJECT_SOURCE_DIR} $<TARGET_FILE:asyncsync>)
  set_tests_properties(probes.notes PROPERTIES LABELS probes TIMEOUT 60)
  add_executable(probe_target ${CMAKE_CURRENT_SOURCE_DIR}/probes/probe_target.c)
  target_link_libraries(probe_target PRIVATE asyncsync::asyncsync Threads::Threads)
  target_compile_definitions(probe_target PRIVATE _GNU_SOURCE)
  as_target_warnings(probe_target)
  if(ASYNCSYNC_SANITIZE STREQUAL "")
    add_test(NAME probes.bpftrace
      COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/probes/check.sh bpftrace
              ${PROJECT_SOURCE_DIR} $<TARGET_FILE:probe_target>)
    set_tests_properties(probes.bpftrace PROPERTIES LABELS probes TIMEOUT 180
      SKIP_RETURN_CODE 77)
  endif()
endif()
