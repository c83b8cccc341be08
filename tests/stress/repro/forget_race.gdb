# Force the interleaving of forget_race.c (line numbers of src/sem.c).
set pagination off
set confirm off
set breakpoint pending on
break sem.c:237
break sem.c:240
break repro_step
run
# The forgetter saw WAITERS and is about to take the queue lock.
set var f_stop1 = 1
set scheduler-locking on
thread 1
continue
# Main cancelled the waiter and released 2 (lock-free).  Only the forgetter.
thread 2
continue
# The forgetter loaded the word under the lock.  Only main.
set var f_stop2 = 1
thread 1
continue
# Main acquired 2 lock-free.  All go.
set scheduler-locking off
continue
