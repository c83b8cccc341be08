# Force the interleaving of cond_done_race.c (lines of src/cond.c, src/wait.c).
set pagination off
set confirm off
set breakpoint pending on
python
def to(name):
    for t in gdb.selected_inferior().threads():
        if t.name == name:
            t.switch()
            return
    raise gdb.GdbError("no thread " + name)
end
break cond.c:147
break wait.c:97
break repro_signalled
break repro_unlocked
run
# The signaller made w DONE and is about to queue it in M.  Only the canceller.
set var x_go = 1
set scheduler-locking on
python to("canceller")
continue
# The canceller read w's fields (DONE).  Only the signaller: w queued in M.
python to("signaller")
continue
# Only main: the hand-off writes w's status.
set var main_go = 1
thread 1
continue
# All go: the canceller's CAS.
set scheduler-locking off
continue
