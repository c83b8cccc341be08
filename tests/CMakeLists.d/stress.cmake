# Randomized stress (label "stress"): fixed seeds, so a failure replays, plus
# one fresh seed per run (printed).  Sizes shrink under sanitizers and on
# Windows (every wake-up under Wine is a wineserver round trip), where the
# rings' defer mode does not exist.
add_executable(stress ${CMAKE_CURRENT_SOURCE_DIR}/stress/stress.c)
target_link_libraries(stress PRIVATE asyncsync::asyncsync Threads::Threads)
target_compile_definitions(stress PRIVATE _GNU_SOURCE)
as_target_warnings(stress)

if(WIN32)
  set(AS_STRESS_SIZE --threads 3 --tasks 32 --ops 4000)
  set(AS_STRESS_MODES default strict)
elseif(ASYNCSYNC_SANITIZE STREQUAL "")
  set(AS_STRESS_SIZE --threads 3 --tasks 32 --ops 20000)
  set(AS_STRESS_MODES default strict defer)
else()
  set(AS_STRESS_SIZE --threads 3 --tasks 24 --ops 10000)
  set(AS_STRESS_MODES default strict defer)
endif()

foreach(b IN LISTS AS_TEST_BACKENDS)
  foreach(seed 1 2 3 random)
    # defer: rings created with IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN
    # (completions, the doorbell's included, only run when the loop waits).
    foreach(mode IN LISTS AS_STRESS_MODES)
      set(extra "")
      if(mode STREQUAL "strict")
        set(extra --strict)
      elseif(mode STREQUAL "defer")
        set(extra --defer-taskrun)
      endif()
      set(tname stress.${mode}.seed-${seed}.${b})
      add_test(NAME ${tname} COMMAND stress ${AS_STRESS_SIZE} --seed ${seed} ${extra})
      set(envs "ASYNCSYNC_BACKEND=${b}" ${AS_TEST_ENV})
      set_tests_properties(${tname} PROPERTIES TIMEOUT 300 LABELS "stress;${b}"
        ENVIRONMENT "${envs}")
    endforeach()
  endforeach()
endforeach()
