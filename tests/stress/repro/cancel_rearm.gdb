# Force the interleaving of cancel_rearm.c.  $bp is set by run.sh:
#   queued: break sem_cancel    done: break wait.c:97 (the CAS of as_cancel)
set pagination off
set confirm off
set breakpoint pending on
break repro_rearmed
run
# Stopped in the canceller, inside as_cancel: only the main thread runs on.
set var canceller_stopped = 1
set scheduler-locking on
thread 1
continue
# Stopped in repro_rearmed: the wait was called back and re-armed.  All go.
set scheduler-locking off
continue
