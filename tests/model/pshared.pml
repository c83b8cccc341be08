/*
 * pshared.pml -- the slot protocol of process-shared semaphores as proposed
 * in docs/pshared.md (issue 14; no C code yet): waiters of several processes
 * park in slots of the shared object, each on its slot's futex word with an
 * io_uring FUTEX_WAIT; a grant is recorded in the slot under the object's
 * cross-process queue lock and the word woken; a cancel races the grant; a
 * waiter process may be killed at any step, and the living reclaim what it
 * held.  Names follow the note: fw (state + seq), who, ticket, qlock,
 * FREE / WAITING / GRANTED / CANCELLED, fwake, reclaim, recovery.
 *
 * Processes (a process = one participant id; all its threads die together):
 *   W    (PW)  a loop with one wait (1 permit), and a second thread of the
 *              same process, c, that may as_cancel it at any moment (8.1:
 *              under qlock, WAITING -> CANCELLED and re-grant, or GRANTED ->
 *              GIVE_UP; then a futex wake of the slot word).  W may be
 *              killed (SIGKILL) at any step before it holds the permit,
 *              including inside its critical sections, holding qlock: its
 *              kernel wait then stays queued (it can absorb a wake) until
 *              the kernel tears its ring down, at any later moment.
 *   W2   (PW2) a loop with one wait (1 permit); never dies, never cancels:
 *              the one a lost reclaim or a lost wake-up would strand.
 *   R    (PR)  holds the one permit (TOTAL = 1) and releases it: lock-free
 *              while WAITERS is clear, else under qlock with the grant.
 *   X    (PX)  the health check of a live process: when W is dead, takes
 *              qlock (stealing it from the dead) and reclaims W's slot.
 * A waiter that gets the permit releases it again (as R), so both waiters
 * can be served one after the other.  The policy modelled is the direct
 * grant (STRICT_FIFO, and the STARVING path of the default policy; the
 * default policy itself with -DEVENTUAL, below); slot
 * allocation is lock-free (CAS on who), registration and every decision
 * under qlock; a waiter parks with the kernel's value check (K3) and
 * re-reads its slot under qlock when its CQE comes (fwake).  In the
 * default build permit moves are single atomic steps (R and X are never
 * killed; W moves no permit in its critical sections except a claim or a
 * give-back, after which it cannot die); -DKILL_R (below) kills R inside
 * its logged grant.
 *
 * Checked:
 *   P1  conservation, in every state:
 *         count + held by processes + GRANTED slots == TOTAL
 *   S1  whenever qlock is free, no permit is idle while a slot is WAITING
 *   P2  a waiter's fwake finds its slot still its own (who == me)
 *   one outcome per wait (granted or cancelled), decided once
 *   P7  at the end: a dead W holds no slot and took no permit with it
 *       (count == TOTAL), and W2 was served
 *   no lost wake-up, nobody stuck: invalid end states
 *
 * Broken variants (must fail):
 *   BUG_WAKE_ONE             wake one waiter of a slot word, not all (K2):
 *                            the dead W's stale wait on its reclaimed slot,
 *                            now W2's, absorbs W2's grant wake: W2 hangs
 *   BUG_PARK_REREAD          the waiter takes its expected value from a new
 *                            read at park time instead of the value it
 *                            stored (P3): it parks on GRANTED after the
 *                            grant's wake has passed: hangs
 *   BUG_RECLAIM_LIVE         the reclaim does not check liveness (P7): it
 *                            frees a live W's slot: W's fwake finds the
 *                            slot not its own (P2)
 *   BUG_CANCEL_FREES         cancel frees the slot at once instead of
 *                            marking it CANCELLED for its owner's fwake
 *                            (P2, P8): the slot is reused while W's kernel
 *                            wait is on it
 *   BUG_PARK_NO_RECHECK      registration stores WAITERS without the
 *                            add_waiter_if CAS: a lock-free release lands
 *                            between the waiter's look at COUNT and its
 *                            store, and the waiter queues with the permit
 *                            free (S1; found in the first version of this
 *                            model, whose registration was written so)
 *   BUG_RECLAIM_NO_REGRANT   the reclaim of a dead W's GRANTED slot returns
 *                            the permit but does not re-run the grant: W2
 *                            stays WAITING with the permit free (S1; with
 *                            NO_INVARIANTS an invalid end state)
 *   NO_INVARIANTS            leave the monitor out
 *
 * KILL_R: the releaser R may be killed too, at every step of its critical
 * section after its release committed (COUNT += 1), holding qlock: R's
 * grant is then the logged grant of docs/pshared.md 5.3 (log := GRANT|h;
 * CAS COUNT -= 1, APPLIED; slot GRANTED; APPLIED := 0; log := 0), and
 * whoever steals qlock from the dead replays the log before it reclaims
 * (5.4).  A waiter's health tick (9.1) is modelled too: a parked waiter
 * whose slot word changed without a wake (its waker died before waking)
 * completes its own kernel wait.  P1 then counts the logged operation:
 *   count + held + GRANTED slots + (APPLIED and the slot not yet GRANTED)
 *     == TOTAL, in every state, a dead holder's included.
 *   BUG_NO_LOG               (with KILL_R) the grant without the log: R
 *                            killed between COUNT -= 1 and the slot's
 *                            GRANTED leaves a state no recovery can repair:
 *                            P1 (with NO_INVARIANTS: the permit is lost and
 *                            the waiters wait for ever)
 *
 * EVENTUAL: the default hand-off policy of docs/pshared.md 6.3 (eventual
 * fairness across processes) instead of the direct grant.  Slot states
 * WOKEN and STARVING; the queue is the WAITING and STARVING slots in
 * ticket order, woken the sum of the req of the WOKEN slots (derived from
 * the slots, as the grant's scan computes it); the bits rule WAITERS =
 * queue non-empty, HANDOFF = queue non-empty and (woken == 0 or the head
 * STARVING).  The processes are those above, with:
 *   - the grant (release, cancel, reclaim, arrival): while the head fits in
 *     COUNT - woken, a STARVING head gets the direct grant (GRANTED), a
 *     WAITING head is WOKEN (no permit moves; woken to retry); then the
 *     bits;
 *   - R releases its R_HELD permits one by one (lock-free while WAITERS is
 *     clear: a WOKEN slot may be racing it), then, R_BARGES times, is a
 *     newcomer: the lock-free take while HANDOFF is clear and COUNT >= 1,
 *     and the release of what it got.  Registration (add_waiter_if) takes
 *     the same way, else its CAS sets WAITERS and HANDOFF by the rule;
 *   - the arrival of a WOKEN slot's owner (its fwake, under qlock):
 *     (1) cancelled on its way (GIVE_UP): the bits as they are once the
 *     slot has left, the slot freed, -ECANCELED, the grant; else the log
 *     (GRANT | own slot) and (2) COUNT >= req: the commit CAS (COUNT -= req,
 *     APPLIED, and the bits as they are once the slot has left), GRANTED,
 *     APPLIED := 0 and log := 0, the claim, the grant for the slots behind;
 *     or (3) the CAS that sets WAITERS | HANDOFF from a value where req
 *     still does not fit, then log := 0 and fw := STARVING (old ticket),
 *     the grant (its claim left woken: a smaller STARVING head ahead of it
 *     may fit now), and it parks again.  W may be killed between any two of these steps
 *     (before its claim): the thief of qlock replays or rolls back the log
 *     and reclaims;
 *   - the cancel of a WOKEN wait records GIVE_UP and wakes the word (the
 *     arrival (1) frees the slot); a STARVING wait is cancelled as a
 *     WAITING one;
 *   - the reclaim of a dead owner's WOKEN or STARVING slot frees it (a
 *     WOKEN one after the CAS that writes the bits as they are once it has
 *     left) and re-runs the grant: a wake given to the dead passes on.
 * W2 asks W2N permits (default 1), W asks 1, TOTAL = R_HELD (default 1);
 * -DR_HELD=2 -DW2N=2: a weighted head that must not be starved by the
 * 1-permit newcomers.  -DR_HELD=3 -DW2N=2 -DR_TAKE=3 (R's take asks 3,
 * released one by one) with -DNO_KILL (W is never killed) -DNO_CANCEL (no
 * canceller), to keep it small: both slots WOKEN at once, W (1) and W2 (2)
 * both starve, W2's claim leaving woken makes W, STARVING ahead of it,
 * fit (REACH 26).  Checked, besides P1, P2, one outcome per wait, P7
 * and the invalid end states above (EF2: a WOKEN slot's owner arrives or
 * dies and is reclaimed, else a waiter hangs):
 *   EF1  whenever qlock is free and the queue is not empty, the head does
 *        not fit in COUNT - woken (monitor)
 *   the bits rule: whenever qlock is free, WAITERS and HANDOFF are as the
 *        rule says from the slots (monitor)
 *   EF3  bounded bypass: a newcomer's take (R's, or a registration's) that
 *        passes a non-empty queue while no slot is WOKEN, or past a
 *        STARVING head, counts in `bypass`, which must stay 0; a wait is
 *        WOKEN at most once (woke[]), then STARVING, and a STARVING slot is
 *        only granted directly
 *   at the end also: no slot WOKEN, WAITERS and HANDOFF clear.
 * Broken variants (with EVENTUAL; must fail):
 *   BUG_EF_NO_STARVE          a woken waiter that finds too few goes back
 *                             WAITING instead of STARVING: it is WOKEN (and
 *                             passed) again (EF3: woke[who[h]] == 0)
 *   BUG_EF_TAKE_THEN_BITS     the arrival's commit takes COUNT and leaves
 *                             the bits for a later CAS (the grant's after
 *                             the claim): in between a newcomer passes the
 *                             queue with nothing woken (EF3: bypass; with
 *                             R_HELD=2 W2N=2 W's own commit leaves a permit
 *                             for the newcomer; with one permit too, when W
 *                             is killed after its commit and the reclaim
 *                             returns its permit before its grant)
 *   BUG_EF_STARVE_NO_RECHECK  going back STARVING as 6.3's (3) words it (no
 *                             grant after), with a look at COUNT and a
 *                             plain store of WAITERS | HANDOFF for its CAS:
 *                             a lock-free release lands in between and W2
 *                             queues with the permit free (EF1; with
 *                             NO_INVARIANTS: W2 parked for ever, an invalid
 *                             end state).  (The grant after (3) would find
 *                             that permit and serve the slot: the CAS is
 *                             what (3) needs when it runs no grant.)
 *   BUG_EF_DEAD_WOKEN_KEPT    the reclaim of a dead owner's WOKEN slot frees
 *                             it but does not re-run the grant: W2 stays
 *                             WAITING with its permit free (EF1; with
 *                             NO_INVARIANTS: W2 hangs)
 *   BUG_EF_FREE_THEN_BITS     a WOKEN slot that leaves without a grant (the
 *                             arrival's give-up, the reclaim of a dead
 *                             owner) is freed first and the bits are left
 *                             to the grant's CAS after: a newcomer passes
 *                             the queue in between with nothing woken (EF3:
 *                             bypass; found by the first version of this
 *                             model, written so)
 *   BUG_EF_GIVEUP_NO_REGRANT  the arrival (1) of a cancelled WOKEN wait frees
 *                             the slot without the grant: the wake is not
 *                             passed on, W2 stays WAITING with the permit
 *                             free (EF1; with NO_INVARIANTS: W2 hangs)
 *   BUG_EF_STARVE_NO_GRANT    the arrival (3) parks STARVING without the
 *                             grant (6.3's (3) as worded): with the R_TAKE=3
 *                             configuration W2 starves behind W, STARVING,
 *                             whom W2's freed claim lets fit: W stays
 *                             queued with its permit free (EF1); the
 *                             configurations with one slot WOKEN at a time
 *                             cannot show it
 *   NO_KILL, NO_CANCEL        W is never killed; no canceller (the small
 *                             R_TAKE=3 configuration)
 *
 * PASS_LOOPS (with EVENTUAL; bit p set: process p's wait is a loop wait,
 * with a timer; default 0: both are blocking threads, the rows above):
 * the slot state PASSED (fw & 7 == 7) of the default policy.  The queue is
 * the slots WAITING, STARVING or PASSED in ticket order; the bits rule
 * becomes HANDOFF = queue non-empty and (the head STARVING, or woken == 0
 * and the head not PASSED); EF1' = whenever qlock is free and the queue is
 * not empty, the head does not fit in COUNT - woken, or it is PASSED.
 *   - the arrival (3') of a WOKEN loop wait that finds too few and was not
 *     PASSED before in this wait: one CAS sets WAITERS (and HANDOFF := the
 *     head, this slot included, is STARVING) from a value in which req
 *     still does not fit, fw := PASSED|seq+1 at its old ticket, its loop's
 *     timer armed, then ps_grant_some_locked (the full grant only when
 *     COUNT > woken); a blocking thread, or a wait PASSED before, goes
 *     STARVING as (3) (HANDOFF := the head is STARVING: clear behind a
 *     PASSED head);
 *   - the grant stops at a PASSED head (serves nothing, wakes nothing, even
 *     if it fits); newcomers (R, a registration) take while HANDOFF is
 *     clear: past a PASSED head when nothing is woken (EF3');
 *   - the timer (kind->tick: a step of the owner's loop while it sleeps on
 *     its CQE, taken eventually): under qlock, still PASSED: HANDOFF raised
 *     first (ps_hold_locked), fw := STARVING|seq+1, then the full grant (the
 *     exact bits; the direct grant if it fits); else nothing.  The kernel
 *     wait stays queued; a direct grant wakes it;
 *   - cancel: PASSED -> CANCELLED as WAITING, then the grant; the death of a
 *     PASSED slot's owner: the slot reclaimed (freed), then the grant;
 *   - the waiters' health tick of KILL_R is on (the slot word changed and no
 *     wake came): W's canceller may now wake W2 past W's PASSED head (a
 *     grant that serves the next head) and die with W before its wake.
 * Checked besides the EVENTUAL invariants (with EF1' and the new rule): a
 * PASSED slot of a live owner has its timer armed; a wait is PASSED at most
 * once (assertion); `bypass` counts a newcomer's take while HANDOFF_RULE
 * says closed (EF3': passing a queued waiter only while it or a slot ahead
 * is WOKEN or PASSED); at the end no slot PASSED.
 *   PSMUTEX                   the mutex mode (TOTAL 1, every req 1): the
 *                             unlock is lock-free whenever HANDOFF is clear
 *                             (PM5; the semaphore's release: only while
 *                             WAITERS is clear); COUNT <= 1 (PM2, mutual
 *                             exclusion with P1)
 *   R_FOREVER                 (npfair rows, with NO_KILL NO_CANCEL) R barges
 *                             and releases again and again until W and W2
 *                             are done; progress: a waiter done.  A barge
 *                             waits while another process waits for qlock
 *                             (`qwant`): the queue lock as a fair lock, or
 *                             R's releases under qlock could keep a waiter
 *                             from it for ever (a cycle of the lock, not of
 *                             the policy)
 *   SPEC_TICK_STORE_FIRST     the tick as spec 5 words it: fw := STARVING,
 *                             then the grant (whose CAS writes HANDOFF): a
 *                             newcomer takes past the STARVING head in
 *                             between (EF3': bypass; FINDING row)
 *   SPEC_HANDOFF_KEPT         the arrival's CAS as spec 2 and the C code word
 *                             it: PASSED keeps HANDOFF, STARVING sets it;
 *                             with two slots woken the slot may re-enter
 *                             ahead of a STARVING head (PASSED) or behind a
 *                             PASSED one (STARVING), and ps_grant_some_locked
 *                             (COUNT 0) does not recompute: HANDOFF set with
 *                             a PASSED head and nothing woken (the bits rule;
 *                             FINDING rows)
 *   NO_HANDOFF_CHECK          the bits monitor tolerates HANDOFF set where the
 *                             rule says clear (not the converse): with the
 *                             SPEC_HANDOFF_KEPT and SPEC_TAKE_BITS findings
 *                             nothing else breaks (a row)
 *   SPEC_TAKE_BITS            the arrival's take (2) as ps_arrive_locked
 *                             writes the bits: HANDOFF kept, raised when no
 *                             slot is left woken, also with a PASSED head
 *                             (the rule: clear); ps_grant_some_locked after
 *                             it (COUNT 0) does not recompute: HANDOFF set
 *                             with a PASSED head and nothing woken (the bits
 *                             rule; FINDING row)
 * Broken variants (with PASS_LOOPS; must fail):
 *   BUG_PS_PASSED_GRANT       the grant does not stop at a PASSED head: it
 *                             wakes it again (EF3: woke[who[h]] == 0, a wait
 *                             WOKEN at most once)
 *   BUG_PS_PASSED_NO_TIMER    the timer is never armed: the PASSED slot's
 *                             timer invariant; with NO_INVARIANTS W stays
 *                             PASSED with the permit free (invalid end
 *                             state); with R_FOREVER under weak fairness a
 *                             waiter passed for ever (non-progress cycle)
 *   BUG_PS_PASSED_TICK_NO_GRANT  the timer makes the slot STARVING and runs
 *                             no grant: a STARVING head that fits with qlock
 *                             free (EF1'; with NO_INVARIANTS: invalid end
 *                             state)
 *   BUG_PS_PM5_UNLOCK_STARVING  (PSMUTEX) the unlock lock-free also when
 *                             HANDOFF is set for a STARVING head: the direct
 *                             hand-off skipped, the lock free behind it (EF1';
 *                             with NO_INVARIANTS: invalid end state)
 *
 * ROBUST: the robust-owner step of the process-shared mutex (AS_PSHARED |
 * AS_MUTEX_ROBUST; src/mutex_ps.c, src/sem_ps.c PM1-PM3, docs/pshared.md
 * 3.4, 9.3, 10.2): the semaphore's core in "binary semaphore with owner"
 * mode, with the strict grant above.  COUNT is 1 (free) or 0 (held); the
 * state's high half is `holder` (a participant id) and OWNER_DEAD
 * (`odead`); every take, grant, reclaim and unlock changes COUNT and the
 * holder in ONE step (PM1); `notrec` is the NOTRECOVERABLE close.
 * Processes:
 *   H   (PR's place) takes the lock lock-free (COUNT 1 -> 0, holder := H,
 *       one CAS; if it is free and nobody waits, else it never holds it)
 *       and unlocks it; it may be killed at every step while it holds it,
 *       and in its slow unlock holding qlock, before or after the CAS that
 *       frees the lock, before its wakes (the waiters' health tick of
 *       KILL_R is on: a waker killed before its wake);
 *   W   (and its thread c), W2: the lock-free take first (OWNER_DEAD kept:
 *       -EOWNERDEAD with the lock), else a slot: registration under qlock
 *       (add_waiter_if: the take, or WAITERS; refused -ENOTRECOVERABLE
 *       once closed), park with the kernel's value check, fwake under
 *       qlock: the claim of a GRANTED slot (-EOWNERDEAD when OWNER_DEAD
 *       came with the grant), or CLOSED (-ENOTRECOVERABLE).  Told
 *       -EOWNERDEAD, the owner calls as_mutex_consistent (OWNER_DEAD
 *       cleared, holder only) or not, then unlocks: lock-free while neither
 *       WAITERS nor OWNER_DEAD is set, else pm_unlock_slow, which with
 *       OWNER_DEAD still set closes the mutex NOTRECOVERABLE first (the
 *       pending waits end CLOSED, WAITERS stays set) and frees the lock.
 *       W is killed only while parked (a grantee dead before its claim);
 *       c cancels W's wait only after a grant that carries OWNER_DEAD
 *       (GIVE_UP: W's fwake gives the lock back, OWNER_DEAD kept, and the
 *       grant passes it on: mutex_ps giveback); the slot protocol's other
 *       deaths and cancels are the other rows' (state space);
 *   X   the health check / suspicion path of a live process: when the
 *       lock's holder is dead (P7: a true death only), or a slot owner or
 *       a qlock holder is, it takes qlock (stealing it from the dead:
 *       recovery, 5.4), reclaims the dead's slots, then (as
 *       ps_recover_locked, ps_health, pm_suspect) reads the holder under
 *       qlock and, dead, frees its lock with OWNER_DEAD in one CAS
 *       (as__mutex_ps_owner_dead_locked), then runs the grant.  The thief
 *       of a dead H's qlock does the same.
 * Checked (monitor and assertions; `dirty`: a holder died in its critical
 * section, set by the repair, cleared by consistent; `cs[p]`: p believes
 * it holds the lock; `eod`: -EOWNERDEAD reports):
 *   PM1  COUNT == 0 <=> the high half names a holder, in every state
 *   PM2  COUNT <= 1; a reclaim frees only a lock its dead grantee holds
 *   mutual exclusion: a live process in its critical section holds the
 *        lock (COUNT 0, holder == it); no take or claim while another live
 *        process is in its critical section
 *   PM3  OWNER_DEAD only after a repair (odead => dirty); its clearing is
 *        checked through PM4 (an unlock or a giveback that drops it leaves
 *        a dirty lock to a later owner told nothing)
 *   PM4  the first take or claim after a holder's death reports
 *        -EOWNERDEAD (dirty => rep), with the lock held, and only one
 *        does (eod == 0 before each report)
 *   NOTRECOVERABLE: no take or claim ever after the close; every pending
 *        wait ends (-ENOTRECOVERABLE); later ones are refused
 *   S1, P1 (a GRANTED slot holds the lock while the state names its
 *        owner), P2, one outcome per wait, and at the end: everyone done,
 *        nobody stuck (invalid end states) whether or not H died, W2 got
 *        the lock or -ENOTRECOVERABLE, the lock free.
 * The repair's grant and the reclaim: a grantee W killed before its claim
 * holds the lock (PM1: the grant named it); its slot is reclaimed (the
 * lock freed, OWNER_DEAD kept) or, when its death is seen as the holder's
 * first (X reads the holder's liveness after its pass over the slots:
 * ps_recover_locked's order; pm_suspect makes no pass at all), the repair
 * frees the lock with OWNER_DEAD and the later reclaim of its GRANTED slot
 * must not free it again: the model's reclaim frees a GRANTED slot's lock
 * only while the state still names the slot's owner (REACH 38).
 *   RECLAIM_UNCHECKED          ps_reclaim_locked before the fix (COUNT += req,
 *                              the holder cleared, unconditionally): the
 *                              reclaim after such a repair frees the lock
 *                              a second time, COUNT 2 or a live holder's
 *                              lock freed (PM2: FINDING row, README.md)
 * Broken variants (with ROBUST; must fail):
 *   BUG_ROB_TWO_CAS            the repair frees the lock (COUNT 1, holder
 *                              0) and sets OWNER_DEAD in a second write: a
 *                              lock-free take in between gets the lock
 *                              with plain 0 (PM4: dirty => rep)
 *   BUG_ROB_NO_GRANT           the repair does not run the grant: a parked
 *                              waiter stays parked with the lock free (S1;
 *                              with NO_INVARIANTS an invalid end state)
 *   BUG_ROB_LIVE               X takes a held lock's holder for dead with
 *                              no liveness check (P7): it frees a live
 *                              holder's lock and another process takes it
 *                              (mutual exclusion)
 *   BUG_ROB_UNLOCK_KEEPS       an unlock with OWNER_DEAD still set frees
 *                              the lock normally, no NOTRECOVERABLE: a later
 *                              owner gets plain 0 on data never made
 *                              consistent (PM4: dirty => rep)
 *   BUG_ROB_GIVEBACK_CLEARS    the giveback of a wait cancelled after a
 *                              grant with OWNER_DEAD drops it: the next
 *                              owner is told nothing (PM4)
 */

/* Vacuity: -DREACHALL turns every REACH(k) into a failing assertion
 * "(k==0)"; `pan -c0` then reports each point a path reaches (run.sh's
 * "reach" rows), as in cancel.pml.  -DREACHPT=k fails at point k only.
 * Points: 1 a dead owner's GRANTED slot reclaimed (its permit returned);
 * 2 qlock stolen from a dead holder; 3 a WAITING wait cancelled; 4 a
 * cancel after the grant (GIVE_UP: the permit given back); 5 a dead
 * process's stale kernel wait absorbs a wake; 6 W2 parks on a slot word on
 * which the dead W's stale wait is still queued; 7 a park refused by the
 * kernel's value check (-EAGAIN); 8 an fwake that finds its slot still
 * WAITING (re-parks); 9 W killed holding qlock; with KILL_R: 10 a logged
 * grant finished by the replay (R died between its commit and the slot's
 * GRANTED); 11 R killed holding qlock; 12 a health tick finds a slot word
 * changed without a wake; 24 a replay rolls back a log whose grant was
 * not made (its APPLIED clear, its slot not GRANTED).  With EVENTUAL (10:
 * W killed between its arrival's commit and its slot's GRANTED): 13 a
 * WAITING head WOKEN; 14 a newcomer took a permit while a slot was WOKEN
 * (barging); 15 an arrival took its permits (its logged commit); 16 an
 * arrival found too few and went back STARVING; 17 a direct grant to a
 * STARVING head; 18 an arrival cancelled on its way gave up; 19 a dead
 * owner's WOKEN slot reclaimed; 20 a WOKEN wait cancelled (GIVE_UP); 21 a
 * newcomer passed a queued waiter while another slot was WOKEN; 22 a dead
 * owner's STARVING slot reclaimed; 23 a STARVING wait cancelled; 25 a
 * lock-free release while a slot was WOKEN (queue empty); 26 the grant of
 * an arrival that went back STARVING served the STARVING head ahead of it
 * (R_TAKE=3 configuration only).  With ROBUST (and 1, 2, 12 as above):
 * 27 a dead holder's lock freed with OWNER_DEAD (the repair); 28 a claim
 * reports -EOWNERDEAD (a grant carried OWNER_DEAD); 29 a take reports
 * -EOWNERDEAD (the lock left free with OWNER_DEAD); 30 as_mutex_consistent;
 * 31 a parked wait ended -ENOTRECOVERABLE by the close; 32 a registration
 * refused -ENOTRECOVERABLE; 33 a giveback passes the lock on with
 * OWNER_DEAD kept; 34 an unlock with OWNER_DEAD set closes the mutex
 * NOTRECOVERABLE; 35 a dead grantee's lock reclaimed with OWNER_DEAD kept;
 * 36 a thief of qlock finds the lock's holder dead (H killed in its unlock
 * holding qlock, before the free); 37 H killed holding the lock; 38 the
 * reclaim of a dead grantee's GRANTED slot whose lock the repair freed
 * already (RECLAIM_UNCHECKED frees it again).  With PASS_LOOPS: 40 a grant
 * stopped at a PASSED head that fits; 41 a newcomer took past a PASSED head
 * with nothing woken; 42 (PSMUTEX) an unlock lock-free with the queue not
 * empty and nothing woken (a PASSED head: PM5); 43 (PSMUTEX) an unlock
 * lock-free with the queue not empty and a slot woken; 44 an arrival went
 * back PASSED; 45 a timer made its PASSED slot STARVING; 46 the timer's
 * grant served its slot directly; 47 a timer left its slot STARVING behind
 * a PASSED head; 48 a timer found its slot no longer PASSED (nothing); 49 a
 * PASSED wait cancelled; 50 a dead owner's PASSED slot reclaimed. */
#ifdef REACHPT
#define REACH(k) assert(REACHPT != k)
#elif defined(REACHALL)
#define REACH(k) assert(k == 0)
#else
#define REACH(k) skip
#endif

#define FREE      0
#define WAITING   1
#define WOKEN     2
#define GRANTED   3
#define CANCELLED 4
#define CLOSED    5     /* (only with ROBUST: NOTRECOVERABLE ends the waits) */
#define STARVING  6
#define PASSED    7     /* (only with EVENTUAL and PASS_LOOPS) */

#if defined(EVENTUAL) && defined(KILL_R)
#error "EVENTUAL and KILL_R are separate scenarios"
#endif
#if defined(ROBUST) && (defined(EVENTUAL) || defined(KILL_R))
#error "ROBUST is a scenario of its own (the strict grant, H for R)"
#endif

#define PW  1   /* waiter process W (its loop and its canceller thread c) */
#define PW2 2   /* waiter process W2 */
#define PR  3   /* releaser process */
#define PX  4   /* a live process's health check */
#define NS  2   /* slots */
#ifdef EVENTUAL
#ifndef R_HELD
#define R_HELD 1    /* permits R holds (and releases one by one) */
#endif
#ifndef W2N
#define W2N 1       /* permits W2 asks for (W asks for 1) */
#endif
#ifndef R_BARGES
#define R_BARGES 1  /* lock-free takes R tries after its releases */
#endif
#ifndef R_TAKE
#define R_TAKE 1    /* permits R's take asks for (released one by one) */
#endif
#ifndef PASS_LOOPS
#define PASS_LOOPS 0    /* bit p set: process p's wait is a loop wait with a
                         * timer (its arrival may go back PASSED); clear: a
                         * blocking thread (STARVING at once) */
#endif
#ifdef PSMUTEX
#if R_HELD != 1 || W2N != 1 || R_TAKE != 1
#error "PSMUTEX: the mutex mode is the binary semaphore (one permit, every req 1)"
#endif
#endif
#if (defined(R_FOREVER) || defined(PSMUTEX)) && !defined(EVENTUAL)
#error "R_FOREVER and PSMUTEX are options of EVENTUAL"
#endif
#define TOTAL R_HELD
#define MYREQ (me == PW2 -> W2N : 1)
#define RQ(s) req[s]
#else
#define TOTAL 1
#define MYREQ 1
#define RQ(s) 1
#endif

/* ---- the shared object ---------------------------------------------- */
byte count;          /* COUNT of the state word */
bit waiters;         /* WAITERS: derived from the slots under qlock */
byte qlock;          /* 0 free, else the holder's process */
byte tail = 1;       /* next ticket */
byte fst[NS];        /* slot fw: state ... */
byte fseq[NS];       /* ... and sequence */
byte who[NS];        /* slot owner (process), 0 none */
byte ticket[NS];
#ifdef EVENTUAL
bit handoff;         /* HANDOFF: derived from the slots under qlock (6.3) */
byte req[NS];        /* slot req: the permits asked */
bit woke[3];         /* EF3: the wait was WOKEN once already */
byte bypass;         /* EF3: newcomer takes that passed the queue while no
                      * slot was WOKEN, or past a STARVING head */
bit rk;              /* (BUG_EF_DEAD_WOKEN_KEPT: the reclaim freed a WOKEN
                      * slot) */
bit tmr[3];          /* the PASSED wait's timer is armed (its loop's) */
bit passed[3];       /* EF3': the wait went PASSED once already */
#ifdef R_FOREVER
byte qwant;          /* (npfair) bit p: p waits for qlock: R's next barge
                      * waits for it (a fair queue lock, see R_FOREVER) */
#endif
#endif

/* ---- the kernel: each waiter's FUTEX_WAIT on a slot word -------------- */
bit kq[3];           /* queued in the futex hash */
byte kslot[3];       /* on which slot's word */
byte kord[3];        /* queue order (the kernel wakes in order) */
byte kclock;
bit cqe[3];          /* its CQE is posted on its ring */

/* ---- processes and ghosts --------------------------------------------- */
bit dead[5];
byte held[5];        /* permits held by each process */
byte outcome[3];     /* 0 none, 1 granted, 2 cancelled */
byte wslot = 255;    /* W's slot index (its as_wait, process-local) */
bit wpending;        /* W's wait is pending (c may cancel it) */
bit wdone;           /* W finished (c has nothing left to cancel) */
bit give_up[3];      /* GIVE_UP: cancelled after the grant */
byte finished;       /* W2 and R done (or R dead: KILL_R), W done or dead */
bit logged;          /* the intent log (5.3): GRANT | log_slot */
byte log_slot;
bit applied;         /* APPLIED: the logged grant's COUNT -= 1 is done */
bit started;         /* init has set the scene */
#ifdef ROBUST
/* the mutex mode (sem_ps.c PM1-PM3, mutex_ps.c): COUNT is 1 (free) or 0
 * (held); the state's high half is the holder's participant id and the
 * OWNER_DEAD bit; `notrec` is the object's CLOSED | NOTREC flags */
byte holder;         /* high half & ~DEAD: the holder process, 0 none */
bit odead;           /* OWNER_DEAD */
bit notrec;          /* closed NOTRECOVERABLE (WAITERS stays set) */
/* ghosts */
bit cs[5];           /* the process believes it holds the lock (its
                      * critical section: from its take or claim to its
                      * unlock's freeing CAS) */
bit dirty;           /* a holder died in its critical section: set by the
                      * repair that frees its lock, cleared by consistent */
byte eod;            /* -EOWNERDEAD reports (PM4: at most one per death) */
bit repd;            /* (under qlock) the recovery just repaired a dead
                      * holder: BUG_ROB_NO_GRANT skips its grant */
#endif

#ifndef ROBUST
#define NGRANTED ((fst[0] == GRANTED -> RQ(0) : 0) + (fst[1] == GRANTED -> RQ(1) : 0))
#else
/* a GRANTED slot holds the lock while the state still names its owner (the
 * repair of a dead holder may have taken it from a dead grantee) */
#define GR(i) ((fst[i] == GRANTED && count == 0 && holder == who[i]) -> 1 : 0)
#define NGRANTED (GR(0) + GR(1))
#endif
/* a logged grant whose commit is done and whose slot store is not */
#define PENDING (applied -> (fst[log_slot] != GRANTED -> RQ(log_slot) : 0) : 0)
#define P1 (count + held[1] + held[2] + held[3] + NGRANTED + PENDING == TOTAL)
#define ANY_WAITING (fst[0] == WAITING || fst[1] == WAITING)

#ifdef ROBUST
#define PH PR       /* the holder H takes R's place (process 3) */
/* PM1: the lock is held exactly when the high half names a holder */
#define PM1 ((count == 0) == (holder != 0))
/* mutual exclusion: a live process in its critical section holds the lock
 * (COUNT 0 and the high half names it), so at most one does */
#define CSOK(p) (!cs[p] || dead[p] || (count == 0 && holder == p))
#define MUTEX_OK (CSOK(1) && CSOK(2) && CSOK(3))
/* The lock taken (a take's CAS) or claimed (fwake, GRANTED) by p, inside
 * that atomic step; rep: OWNER_DEAD was set in the value it read (the
 * -EOWNERDEAD report, which comes with the lock held). */
#define LIVECS(q) (cs[q] && !dead[q])
#define ACQUIRED(p) \
    assert(!LIVECS(1) && !LIVECS(2) && !LIVECS(3)); /* mutual exclusion */ \
    assert(!notrec);                   /* NOTRECOVERABLE: nobody, ever */ \
    assert(count == 0 && holder == p); /* PM1: the CAS named it */ \
    assert(!dirty || rep);             /* PM4: the first owner after a death is told */ \
    if \
    :: rep -> assert(eod == 0); eod++  /* PM4: exactly one report per death */ \
    :: else -> skip \
    fi; \
    cs[p] = 1
/* the take's CAS (as__ps_try_own, and the take of ps_register_locked):
 * COUNT 1 -> 0 (done by the caller) and high := p, OWNER_DEAD kept */
#define TAKEN(p) \
    holder = p; \
    rep = odead; \
    if \
    :: rep -> REACH(29) \
    :: else -> skip \
    fi; \
    ACQUIRED(p)
#endif

#ifdef EVENTUAL
/* 6.3: the queue is the slots WAITING or STARVING, in ticket order; a WOKEN
 * slot is out of it; woken = the sum of the req of the WOKEN slots (derived,
 * as the grant's scan computes it) */
#define INQ(i) (fst[i] == WAITING || fst[i] == STARVING || fst[i] == PASSED)
#define QNONEMPTY (INQ(0) || INQ(1))
#define HEAD ((INQ(0) && (!INQ(1) || ticket[0] < ticket[1])) -> 0 : 1)
#define HEAD_STARVING (QNONEMPTY && fst[HEAD] == STARVING)
#define HEAD_PASSED (QNONEMPTY && fst[HEAD] == PASSED)
#define WOKENSUM ((fst[0] == WOKEN -> req[0] : 0) + (fst[1] == WOKEN -> req[1] : 0))
/* woken once slot s has left (the arrival's commit) */
#define WOKENX(s) (WOKENSUM - (fst[s] == WOKEN -> req[s] : 0))
/* the bits rule: HANDOFF = queue non-empty and (the head STARVING, or
 * woken == 0 and the head not PASSED) */
#define HANDOFF_RULE (QNONEMPTY && (HEAD_STARVING || (WOKENSUM == 0 && !HEAD_PASSED)))
/* EF1' broken: the head fits in COUNT - woken and is not PASSED */
#define HEAD_FITS (QNONEMPTY && !HEAD_PASSED && req[HEAD] + WOKENSUM <= count)
/* the grant's loop condition (BUG_PS_PASSED_GRANT: it does not stop at a
 * PASSED head) */
#ifdef BUG_PS_PASSED_GRANT
#define GRANT_FITS (QNONEMPTY && req[HEAD] + WOKENSUM <= count)
#else
#define GRANT_FITS HEAD_FITS
#endif
/* the arrival of slot s's owner may go back PASSED: a loop wait that was
 * not PASSED before in this wait */
#define MAYPASS(p) (((PASS_LOOPS >> (p)) & 1) == 1 && !passed[p])
/* the other slot (NS == 2) is queued ahead of slot s in state st */
#define AHEAD(s, st) (fst[1 - (s)] == (st) && ticket[1 - (s)] < ticket[s])
/* HANDOFF not as the rule says (NO_HANDOFF_CHECK: a stale HANDOFF set is
 * tolerated, to see whether the SPEC_* findings break anything else) */
#ifndef NO_HANDOFF_CHECK
#define BITS_WRONG (handoff != HANDOFF_RULE)
#else
#define BITS_WRONG (!handoff && HANDOFF_RULE)
#endif
/* a PASSED slot of a live owner whose timer is not armed */
#define PASSED_NO_TIMER(i) (fst[i] == PASSED && !dead[who[i]] && !tmr[who[i]])
#ifdef PSMUTEX
#define MAXCOUNT 1
#else
#define MAXCOUNT TOTAL
#endif
/* the WOKEN slots of dead owners (a reclaim frees them) */
#define DEADWOKEN(i) ((who[i] != 0 && dead[who[i]] && fst[i] == WOKEN) -> req[i] : 0)
#define DEADPASSED(i) (who[i] != 0 && dead[who[i]] && fst[i] == PASSED)
#endif

/* W dies here (any step before it holds the permit).  Its kernel wait, if
 * queued, stays (kexit tears it down later); its canceller dies too. */
#if defined(NO_KILL) || defined(ROBUST)
/* (ROBUST: W is killed only while parked, the death of a grantee before
 * its claim; the slot protocol's deaths are the other rows') */
#define DIE skip
#else
#define DIE \
    if \
    :: me == PW && !dead[PW] -> \
        if \
        :: qlock == PW -> REACH(9) \
        :: else -> skip \
        fi; \
        dead[PW] = 1; goto died \
    :: true -> skip \
    fi
#endif

/* ---- the kernel ------------------------------------------------------- */

/* FUTEX_WAIT(word of slot s, expected (est, eseq)): queued only if the
 * word still holds the expected value, else completes at once (-EAGAIN). */
inline park(me, s, est, eseq)
{
    atomic {
        if
        :: fst[s] == est && fseq[s] == eseq ->
            if
            :: me == PW2 && kq[PW] && kslot[PW] == s -> REACH(6)
            :: else -> skip
            fi;
            kq[me] = 1; kslot[me] = s; kclock++; kord[me] = kclock
        :: else -> REACH(7); cqe[me] = 1
        fi
    }
}

/* FUTEX_WAKE(word of slot s): all waiters on it (K2), or, BUG_WAKE_ONE,
 * the first queued.  A dead process's wait is woken (absorbs the wake) but
 * its CQE goes nowhere. */
inline wake(s)
{
    atomic {
#ifdef BUG_WAKE_ONE
        if
        :: kq[1] && kslot[1] == s && (!kq[2] || kslot[2] != s || kord[1] < kord[2]) ->
            kq[1] = 0; cqe[1] = !dead[1]
        :: kq[2] && kslot[2] == s && (!kq[1] || kslot[1] != s || kord[2] < kord[1]) ->
            kq[2] = 0; cqe[2] = 1
        :: else -> skip
        fi
#else
        if
        :: kq[1] && kslot[1] == s ->
            if
            :: dead[1] -> REACH(5)
            :: else -> skip
            fi;
            kq[1] = 0; cqe[1] = !dead[1]
        :: else -> skip
        fi;
        if
        :: kq[2] && kslot[2] == s -> kq[2] = 0; cqe[2] = 1
        :: else -> skip
        fi
#endif
    }
}

/* the ring of the dead W is torn down by the kernel, at some later moment */
proctype kexit()
{
end:
    atomic { dead[PW] && kq[PW] -> kq[PW] = 0 }
}

/* ---- the queue lock (section 5) --------------------------------------- */

/* Take qlock; from a dead holder it is stolen, and the thief runs the
 * recovery (here: the reclaim of the dead's slots, with the grant). */
inline q_lock(p)
{
#ifdef R_FOREVER
    qwant = qwant | (1 << p);
#endif
    atomic {
        (qlock == 0 || dead[qlock]) ->
        stolen = (qlock != 0);
        qlock = p
#ifdef R_FOREVER
        ; qwant = qwant & ~(1 << p)
#endif
    };
    if
    :: stolen -> REACH(2);
#ifdef ROBUST
       if
       :: count == 0 && holder != 0 && dead[holder] -> REACH(36)
       :: else -> skip
       fi;
#endif
       replay(); reclaim(p); stolen = 0
    :: else -> skip
    fi
}

/* 5.4 (1): finish the dead holder's logged grant: its commit done
 * (APPLIED), the slot is made GRANTED; not done, nothing was granted (the
 * re-grant that follows serves the slot).  A GRANTED slot is woken: the
 * dead holder may have died before its wake. */
inline replay()
{
    d_step {
        if
        :: logged ->
            if
            :: applied && fst[log_slot] != GRANTED ->
                REACH(10); fst[log_slot] = GRANTED; fseq[log_slot]++
            :: else -> skip
            fi;
            if
            :: fst[log_slot] == GRANTED -> wk = wk | (1 << log_slot)
            :: else -> REACH(24)     /* not applied: the grant was not made */
            fi;
            applied = 0;
            logged = 0;
            log_slot = 0
        :: else -> skip
        fi
    }
}

inline q_unlock(p)
{
    d_step { assert(qlock == p); qlock = 0 }
}

#ifdef EVENTUAL
/* ---- the grant (6.3), default policy: while the head of the queue
 * (WAITING or STARVING, lowest ticket) fits in COUNT - woken: a STARVING
 * head gets the direct grant (GRANTED: the permits are the slot's; one
 * step here, R and X are never killed and W grants nothing it could die
 * in the middle of), a WAITING head is WOKEN (no permit moves: it is woken
 * to retry, its req counted in woken).  Then the bits.  Wakes collected in
 * wk, issued after unlock. ------------------------------------------- */
inline grant()
{
    d_step {
        do
        :: GRANT_FITS ->
            h = HEAD;
            if
            :: fst[h] == STARVING ->
                REACH(17);
                count = count - req[h];
                fst[h] = GRANTED
            :: else ->
                REACH(13);
#ifndef NO_INVARIANTS
                assert(woke[who[h]] == 0);  /* EF3: WOKEN at most once per wait */
#endif
                woke[who[h]] = 1;
                fst[h] = WOKEN
            fi;
            fseq[h]++;
            wk = wk | (1 << h)
        :: else -> break
        od;
        if
        :: HEAD_PASSED && req[HEAD] + WOKENSUM <= count -> REACH(40)
        :: else -> skip
        fi;
        waiters = QNONEMPTY;
        handoff = HANDOFF_RULE;
        h = 0
    }
}

/* ps_grant_some_locked: the full grant only when a permit is free beyond
 * those promised to woken slots; else the bits are left as they are */
inline grant_some()
{
    if
    :: count > WOKENSUM -> grant()
    :: else -> skip
    fi
}

/* A newcomer takes permits from COUNT (the lock-free take, or the take of
 * add_waiter_if): EF3', a queued waiter is passed over only while it or a
 * slot ahead of it is WOKEN or PASSED, never past a STARVING head: a take
 * while the bits rule says HANDOFF counts in bypass.  Inside the take's
 * atomic step. */
inline newcomer_takes()
{
    if
    :: HANDOFF_RULE -> bypass++
    :: QNONEMPTY && WOKENSUM > 0 && !HEAD_STARVING -> REACH(21)
    :: QNONEMPTY && WOKENSUM == 0 && HEAD_PASSED -> REACH(41)
    :: else -> skip
    fi;
    if
    :: WOKENSUM > 0 -> REACH(14)
    :: else -> skip
    fi;
#ifndef NO_INVARIANTS
    assert(bypass == 0)                 /* EF3: bounded bypass */
#else
    skip
#endif
}
#else
/* ---- the grant (6.3): the WAITING slot with the lowest ticket, while a
 * permit is free; wakes collected in wk, issued after unlock ---------- */
inline grant()
{
    d_step {
        do
        :: count >= 1 && ANY_WAITING ->
            if
            :: fst[0] == WAITING && (fst[1] != WAITING || ticket[0] < ticket[1]) -> h = 0
            :: else -> h = 1
            fi;
            count--;
#ifdef ROBUST
            holder = who[h];    /* PM1: the lock and its holder, one CAS;
                                 * OWNER_DEAD goes with the lock */
#endif
            fst[h] = GRANTED;
            fseq[h]++;
            wk = wk | (1 << h)
        :: else -> break
        od;
#ifdef ROBUST
        waiters = (ANY_WAITING || notrec);
#else
        waiters = ANY_WAITING;
#endif
        h = 0
    }
}
#endif

inline wake_all_collected()
{
    if
    :: (wk & 1) != 0 -> wake(0)
    :: else -> skip
    fi;
    if
    :: (wk & 2) != 0 -> wake(1)
    :: else -> skip
    fi;
    wk = 0
}

#ifdef ROBUST
/* as__mutex_ps_owner_dead_locked, under qlock (PM3): a lock still held by
 * a holder found dead (chk: P7, dead[holder]; BUG_ROB_LIVE's X passes
 * true) is freed, its holder cleared and OWNER_DEAD set, in ONE CAS
 * (BUG_ROB_TWO_CAS: the free, then OWNER_DEAD in a second write). */
inline owner_dead_locked(chk)
{
#ifndef BUG_ROB_TWO_CAS
    d_step {
        if
        :: count == 0 && holder != 0 && (chk) ->
            REACH(27);
            count = 1; held[holder] = 0; holder = 0; odead = 1;
            dirty = 1; repd = 1
        :: else -> skip
        fi
    }
#else
    if
    :: atomic {
        count == 0 && holder != 0 && (chk) ->
        count = 1; held[holder] = 0; holder = 0; dirty = 1; repd = 1
       };
       odead = 1
    :: else -> skip
    fi
#endif
}
#endif

/* 9.2: under qlock, the slots of dead owners: what they held goes back
 * (a GRANTED slot's permit to COUNT), the slot is freed, the grant re-run. */
inline reclaim(p)
{
#if defined(EVENTUAL) && !defined(BUG_EF_FREE_THEN_BITS)
    /* a dead owner's WOKEN slot leaves: first the bits as they are once it
     * has left (the CAS on the state: woken -= req), then the slot's store;
     * in the other order a newcomer passes the queue in between with
     * nothing woken (EF3).  A dead owner's PASSED slot: HANDOFF raised
     * while anything is queued (ps_hold_locked, which ps_reclaim_locked
     * runs first for any dead owner): with the busy hint a PASSED head
     * may sit on a free lock, and newcomers pass it; once it is freed, in
     * the other order they would pass the WAITING slot behind it with
     * nothing woken (EF3'; BUG_PS_RECLAIM_PASSED_NO_HOLD) */
    d_step {
        if
        :: DEADWOKEN(0) + DEADWOKEN(1) > 0 ->
            handoff = (QNONEMPTY && (WOKENSUM - DEADWOKEN(0) - DEADWOKEN(1) == 0 || HEAD_STARVING))
#if PASS_LOOPS != 0 && !defined(BUG_PS_RECLAIM_PASSED_NO_HOLD)
        :: DEADPASSED(0) || DEADPASSED(1) -> handoff = handoff || waiters
#endif
        :: else -> skip
        fi
    };
#endif
    d_step {
        i = 0;
        do
        :: i < NS ->
            if
#ifdef BUG_RECLAIM_LIVE
            :: who[i] == PW ->
#else
            :: who[i] != 0 && dead[who[i]] ->
#endif
                if
#ifndef ROBUST
                :: fst[i] == GRANTED -> REACH(1); count = count + RQ(i)
#else
                :: fst[i] == GRANTED ->
                    REACH(1);
                    /* PM1: the lock granted to the dead is freed and its
                     * holder cleared together; OWNER_DEAD stays (it came
                     * from an earlier holder).  Only while the lock is
                     * still the dead grantee's: the repair of a dead
                     * holder (owner_dead_locked) may have freed it already
                     * (the grantee died after the grant's commit, and its
                     * holder was found dead before its slot was: a
                     * pm_suspect, or a death between the two liveness
                     * reads of ps_health / ps_recover_locked);
                     * RECLAIM_UNCHECKED: ps_reclaim_locked before the fix,
                     * COUNT += req unconditionally (FINDING row) */
#ifndef RECLAIM_UNCHECKED
                    if
                    :: count == 0 && holder == who[i] ->
#endif
                        /* PM2: a reclaim frees only a lock the dead
                         * grantee still holds */
                        assert(count == 0 && holder == who[i]);
                        count = count + 1; holder = 0;
                        if
                        :: odead -> REACH(35)
                        :: else -> skip
                        fi
#ifndef RECLAIM_UNCHECKED
                    :: else -> REACH(38)
                    fi
#endif
#endif
#ifdef EVENTUAL
                /* 9.2: a WOKEN slot held a promise (woken goes down with
                 * the slot), a STARVING one its place: no permit in either */
                :: fst[i] == WOKEN ->
                    REACH(19);
#ifdef BUG_EF_DEAD_WOKEN_KEPT
                    rk = 1
#else
                    skip
#endif
                :: fst[i] == STARVING -> REACH(22)
                /* spec 6: a PASSED one is freed as a WAITING one */
                :: fst[i] == PASSED -> REACH(50)
#endif
                :: else -> skip
                fi;
                fst[i] = FREE;
                fseq[i]++;
                who[i] = 0
            :: else -> skip
            fi;
            i++
        :: else -> break
        od;
        i = 0
    };
#ifdef EVENTUAL
#ifdef BUG_EF_DEAD_WOKEN_KEPT
    /* the broken variant: a reclaimed WOKEN slot's wake is not passed on
     * (the bits recomputed, no grant) */
    if
    :: rk -> d_step { waiters = QNONEMPTY; handoff = HANDOFF_RULE; rk = 0 }
    :: else -> grant()
    fi
#else
    grant()     /* a wake given to the dead passes on (EF2) */
#endif
#elif defined(ROBUST)
    /* 10.2 (ps_recover_locked, ps_health): after the slots, the holder of
     * the lock, if dead (P7), is replaced by OWNER_DEAD in the CAS that
     * frees the lock; then the grant (BUG_ROB_NO_GRANT: not after a repair) */
    owner_dead_locked(dead[holder]);
#ifdef BUG_ROB_NO_GRANT
    if
    :: repd -> repd = 0
    :: else -> grant()
    fi
#else
    repd = 0;
    grant()
#endif
#elif !defined(BUG_RECLAIM_NO_REGRANT)
    grant()
#else
    d_step { waiters = ANY_WAITING }
#endif
}

#ifdef ROBUST
/* pm_unlock_slow (not a giveback), under qlock, by the holder p: an unlock
 * with OWNER_DEAD still set first closes the mutex NOTRECOVERABLE
 * (as__ps_close_locked: every pending wait ends, its slot CLOSED and its
 * word woken; WAITERS stays set, so no take succeeds again); then COUNT
 * 0 -> 1 and high := 0 in one CAS (PM1; OWNER_DEAD goes).  The grant
 * follows (the caller's).  BUG_ROB_UNLOCK_KEEPS: no close, a plain free. */
inline unlock_locked(p)
{
    d_step {
        assert(count == 0 && holder == p);     /* (else -EPERM) */
        if
#ifndef BUG_ROB_UNLOCK_KEEPS
        :: odead ->
            REACH(34);
            notrec = 1;
            waiters = 1;
            i = 0;
            do
            :: i < NS ->
                if
                :: fst[i] == WAITING -> fst[i] = CLOSED; fseq[i]++; wk = wk | (1 << i)
                :: else -> skip
                fi;
                i++
            :: else -> break
            od;
            i = 0
#endif
        :: else -> skip
        fi;
        count = 1; holder = 0; odead = 0; held[p] = 0; cs[p] = 0
    }
}

/* A waiter's lock held (rep: with -EOWNERDEAD): the new owner makes the
 * data consistent and calls as_mutex_consistent (OWNER_DEAD cleared; the
 * holder only), or does not; then as_mutex_unlock: lock-free (COUNT 0 -> 1,
 * high := 0, one CAS) while neither WAITERS nor OWNER_DEAD is set, else
 * pm_unlock_slow.  (A waiter is never killed holding the lock.) */
inline rob_unlock(p)
{
    if
    :: rep ->
        d_step {
            REACH(30);
            assert(count == 0 && holder == p && odead);
            odead = 0;
            dirty = 0
        }
    :: true -> skip
    fi;
    if
    :: atomic {
        !waiters && !odead ->
        assert(count == 0 && holder == p);
        count = 1; holder = 0; held[p] = 0; cs[p] = 0
       }
    :: atomic { waiters || odead -> skip };
       q_lock(p);
       unlock_locked(p);
       grant();
       q_unlock(p);
       wake_all_collected()
    fi
}
#endif

/* ---- release (6.2) ---------------------------------------------------- */
#ifdef PSMUTEX
/* PM5: the mutex's unlock frees the lock with one CAS, no queue lock,
 * whenever HANDOFF is clear in the value it replaces (the grant would do
 * nothing: COUNT - woken <= 0 with a slot woken, or the head is PASSED);
 * BUG_PS_PM5_UNLOCK_STARVING: also when HANDOFF is set for a STARVING
 * head */
#ifdef BUG_PS_PM5_UNLOCK_STARVING
/* (HANDOFF set for a STARVING head: the unlock skips its direct hand-off) */
#define LOCKFREE_RELEASE (!handoff || HEAD_STARVING)
#else
#define LOCKFREE_RELEASE (!handoff)
#endif
#else
/* the semaphore's release: lock-free only while WAITERS is clear */
#define LOCKFREE_RELEASE (!waiters)
#endif
inline release(p, n)
{
    if
#ifdef EVENTUAL
    :: atomic {
        LOCKFREE_RELEASE ->
        if
        :: WOKENSUM > 0 -> REACH(25)
        :: else -> skip
        fi;
        if
        :: waiters && WOKENSUM == 0 -> REACH(42)    /* PM5: a PASSED head */
        :: waiters && WOKENSUM > 0 -> REACH(43)     /* PM5: a slot woken */
        :: else -> skip
        fi;
        count = count + n; held[p] = held[p] - n
       }    /* lock-free (queue empty; a WOKEN slot may be racing it;
             * PSMUTEX: HANDOFF clear) */
#else
    :: atomic { !waiters -> count = count + n; held[p] = held[p] - n }    /* lock-free */
#endif
    :: q_lock(p);
       d_step { count = count + n; held[p] = held[p] - n };
       grant();
       q_unlock(p);
       wake_all_collected()
    fi
}

/* ---- a waiter (6.1, 6.5, 7) -------------------------------------------- */
proctype waiter(byte me)
{
    byte s, est, eseq, h, i, wk;
    bit stolen;
#ifdef EVENTUAL
    bit pass;
#endif
#ifdef ROBUST
    bit rep, got;

    /* the lock-free take first (as__ps_try_own): COUNT 1 -> 0 and high :=
     * me in one CAS while HANDOFF (strict: WAITERS) is clear */
    atomic {
        if
        :: count == 1 && !waiters ->
            count = 0; held[me] = 1; outcome[me] = 1; TAKEN(me); got = 1
        :: else -> skip
        fi
    };
    if
    :: got -> goto have
    :: else -> skip
    fi;
#endif

    /* slot allocation: CAS who 0 -> me (lock-free) */
    atomic {
        if
        :: who[0] == 0 -> s = 0
        :: who[1] == 0 -> s = 1
        fi;
        who[s] = me;
        if
        :: me == PW -> wslot = s
        :: else -> skip
        fi
    };
    DIE;
    q_lock(me);
    DIE;
    ticket[s] = tail;
#ifdef EVENTUAL
    d_step { tail++; req[s] = MYREQ };
#else
    tail++;
#endif
    DIE;
#ifdef EVENTUAL
    /* add_waiter_if (6.1 step 4) under the default policy: the take while
     * HANDOFF is clear and the request fits (a newcomer: EF3), else the
     * CAS that sets WAITERS and HANDOFF by the bits rule (the slot about
     * to join the queue: the head is the present head, or this slot) from
     * that value */
    if
    :: atomic {
        !handoff && count >= MYREQ ->
        newcomer_takes();
        count = count - MYREQ; held[me] = held[me] + MYREQ; who[s] = 0; outcome[me] = 1
       };
       q_unlock(me);
       goto have
    :: atomic {
        !(!handoff && count >= MYREQ) ->
        /* (ps_register_locked: joining a queue that is not empty changes
         * no bit; an empty one makes this slot the head: HANDOFF unless a
         * WOKEN slot is racing) */
        handoff = (waiters -> handoff : WOKENSUM == 0);
        waiters = 1
       }
    fi;
    DIE;
#elif !defined(BUG_PARK_NO_RECHECK)
    /* add_waiter_if (6.1 step 4): WAITERS is set by a CAS from a value in
     * which the permit is not free, as sem_acquire_slow does today; a
     * lock-free release that came since makes it fail, and the permit is
     * taken instead (the take of sem_acquire_slow, a skipped ticket). */
    if
    :: atomic {
        count >= 1 && !waiters ->
        count--; held[me]++; who[s] = 0; outcome[me] = 1
#ifdef ROBUST
        ; TAKEN(me)
#endif
       };
       q_unlock(me);
       goto have
#ifdef ROBUST
    /* closed NOTRECOVERABLE: refused, the slot freed (-ENOTRECOVERABLE) */
    :: atomic { notrec -> REACH(32); assert(outcome[me] == 0); outcome[me] = 3; who[s] = 0 };
       q_unlock(me);
       goto have
    :: atomic { !(count >= 1 && !waiters) && !notrec -> waiters = 1 }
#else
    :: atomic { !(count >= 1 && !waiters) -> waiters = 1 }
#endif
    fi;
    DIE;
#else
    /* the broken variant: the permit was looked at once, at q_lock, and
     * WAITERS is stored blindly */
    if
    :: count >= 1 && !waiters ->
        d_step { count--; held[me]++; who[s] = 0; outcome[me] = 1 };
        q_unlock(me);
        goto have
    :: else -> skip
    fi;
    waiters = 1;
#endif
    d_step {
        fst[s] = WAITING;       /* joins the queue */
        est = WAITING;
        eseq = fseq[s];
        if
        :: me == PW -> wpending = 1
        :: else -> skip
        fi
    };
    DIE;
    q_unlock(me);
parked:
    DIE;
#ifdef BUG_PARK_REREAD
    d_step { est = fst[s]; eseq = fseq[s] };
#endif
    park(me, s, est, eseq);
    /* the loop sleeps until its CQE (or the process is killed meanwhile) */
#ifdef EVENTUAL
sleeps:
#endif
    if
    :: atomic { cqe[me] -> cqe[me] = 0 }
#ifdef EVENTUAL
    /* the PASSED wait's timer fires (AS__PASS_NS after it went PASSED; a
     * step the loop eventually takes): kind->tick */
    :: tmr[me] -> goto tick     /* (disarmed under qlock, below) */
#endif
#ifndef NO_KILL
    :: me == PW && !dead[PW] -> dead[PW] = 1; goto died
#endif
#if defined(KILL_R) || defined(ROBUST) || (defined(EVENTUAL) && PASS_LOOPS != 0)
    /* the health tick (9.1): the slot word changed and no wake came (the
     * waker died first): the waiter wakes its own kernel wait.  (EVENTUAL
     * with PASS_LOOPS: W's canceller's grant may wake W2 past W's PASSED
     * head, then die with W before its futex wake) */
    :: atomic {
        kq[me] && (fst[s] != est || fseq[s] != eseq) ->
        REACH(12); kq[me] = 0
       }
#endif
    fi;
    /* fwake: re-read the slot under qlock */
    q_lock(me);
    DIE;
    assert(who[s] == me);           /* P2: still our slot */
    if
    :: fst[s] == GRANTED ->
        /* claim (6.5), or give back if cancelled after the grant (8.1) */
        d_step {
            assert(outcome[me] == 0);
            if
            :: give_up[me] -> count = count + RQ(s); outcome[me] = 2
#ifdef ROBUST
                /* the mutex giveback (pm_unlock_slow, giveback): the lock
                 * is freed as it came, OWNER_DEAD kept, no close; the
                 * grant below passes it on */
                ; holder = 0;
                if
                :: odead -> REACH(33)
                :: else -> skip
                fi
#ifdef BUG_ROB_GIVEBACK_CLEARS
                ; odead = 0     /* the broken variant: given back clean */
#endif
#endif
            :: else -> held[me] = held[me] + RQ(s); outcome[me] = 1
#ifdef ROBUST
                /* the claim: -EOWNERDEAD when OWNER_DEAD came with it */
                ; rep = odead;
                if
                :: rep -> REACH(28)
                :: else -> skip
                fi;
                ACQUIRED(me)
#endif
            fi;
            fst[s] = FREE;
            who[s] = 0
        };
        grant()
    :: fst[s] == CANCELLED ->
        d_step {
            assert(outcome[me] == 0);
            outcome[me] = 2;
            fst[s] = FREE;
            who[s] = 0
        }
#ifdef ROBUST
    :: fst[s] == CLOSED ->
        /* ended by the NOTRECOVERABLE close: -ENOTRECOVERABLE */
        d_step {
            REACH(31);
            assert(outcome[me] == 0);
            outcome[me] = 3;
            fst[s] = FREE;
            who[s] = 0
        }
#endif
#ifdef EVENTUAL
    :: fst[s] == WAITING || fst[s] == STARVING || fst[s] == PASSED ->
#else
    :: fst[s] == WAITING ->
#endif
        /* spurious (a stale wake, or -EAGAIN on an old value): park again
         * with the value read under the lock */
        d_step { REACH(8); est = fst[s]; eseq = fseq[s] };
        q_unlock(me);
        goto parked
#ifdef EVENTUAL
    :: fst[s] == WOKEN -> goto arrive
#endif
    fi;
fdone:
#if defined(EVENTUAL) && PASS_LOOPS != 0
    tmr[me] = 0;    /* the wait is done: as__timer_remove */
#endif
    q_unlock(me);
    wake_all_collected();
have:
#ifdef R_FOREVER
progress:   /* npfair rows: a waiter served (or its wait ended) */
    skip;
#endif
    if
#ifdef ROBUST
    :: held[me] > 0 -> rob_unlock(me)
#else
    :: held[me] > 0 -> release(me, MYREQ)
#endif
    :: else -> skip
    fi;
    d_step {
        finished++;
        if
        :: me == PW -> wdone = 1
        :: else -> skip
        fi
    };
    goto end_w;
#ifdef EVENTUAL
    /* ---- the arrival (6.3) of the WOKEN slot's owner, under qlock ---- */
arrive:
    if
    :: give_up[me] ->
        /* (1) cancelled on its way: the slot is freed (woken goes down with
         * it), the wait ends -ECANCELED and the wake passes on.  First the
         * bits as they are once the slot has left (one CAS), then the
         * slot's store, then the grant (BUG_EF_FREE_THEN_BITS: the store
         * first, the grant's CAS writes the bits) */
#ifndef BUG_EF_FREE_THEN_BITS
        handoff = (QNONEMPTY && (WOKENX(s) == 0 || HEAD_STARVING));
#endif
        d_step {
            REACH(18);
            assert(outcome[me] == 0);
            outcome[me] = 2;
            fst[s] = FREE;
            who[s] = 0
        };
#ifndef BUG_EF_GIVEUP_NO_REGRANT
        grant();
#else
        d_step { waiters = QNONEMPTY; handoff = HANDOFF_RULE };
#endif
        goto fdone
    :: else -> skip
    fi;
    /* (2) the logged grant (5.3) to its own slot if req fits in COUNT, else
     * (3) back in the queue STARVING.  The log is written first: when the
     * commit CAS then finds too few, the grant is not made (a replay rolls
     * back a log whose APPLIED is clear and whose slot is not GRANTED) */
    d_step { logged = 1; log_slot = s };
    DIE;
    if
    :: atomic {
        count >= req[s] ->
        /* (2) the commit: COUNT -= req, APPLIED, and the bits as they are
         * once the slot has left (woken -= req), in one CAS */
        REACH(15);
        count = count - req[s];
        applied = 1
#ifndef BUG_EF_TAKE_THEN_BITS
        ;
        waiters = QNONEMPTY;
#ifndef SPEC_TAKE_BITS
        /* the rule with the slot gone (a PASSED head keeps it clear) */
        handoff = (QNONEMPTY && (HEAD_STARVING || (WOKENX(s) == 0 && !HEAD_PASSED)))
#else
        /* ps_arrive_locked as it is: HANDOFF kept, raised when no slot
         * is left woken (FINDING row: with a PASSED head) */
        handoff = (QNONEMPTY && (WOKENX(s) == 0 || HEAD_STARVING))
#endif
#endif
       };
       DIE;
       d_step { fst[s] = GRANTED; fseq[s]++ };
       DIE;
       /* APPLIED := 0, then log := 0: only a replay reads them, and a death
        * between the two is recovered as a death just before or after */
       d_step { applied = 0; logged = 0; log_slot = 0 };
       DIE;
       /* the claim (6.5): the permits are the task's */
       d_step {
           assert(outcome[me] == 0);
           held[me] = held[me] + req[s];
           outcome[me] = 1;
           fst[s] = FREE;
           who[s] = 0
       };
       /* the grant for the slots behind (BUG_EF_TAKE_THEN_BITS: the later
        * CAS that writes the bits the commit left); with PASS_LOOPS
        * ps_grant_some_locked, as the C code */
#if PASS_LOOPS != 0
       grant_some();
#else
       grant();
#endif
       goto fdone
#ifndef BUG_EF_STARVE_NO_RECHECK
    /* (3) one CAS sets WAITERS | HANDOFF from a value in which req still
     * does not fit (a lock-free release since makes it fail: then (2)).
     * With PASSED slots, HANDOFF := the head (this slot included) is
     * STARVING: clear behind a PASSED head (SPEC_HANDOFF_KEPT, as the C
     * code and the spec: HANDOFF set "either way": FINDING row) */
    :: atomic {
        count < req[s] && !MAYPASS(me) ->
        waiters = 1;
#ifdef SPEC_HANDOFF_KEPT
        handoff = 1
#else
        handoff = !AHEAD(s, PASSED)
#endif
       }
#if PASS_LOOPS != 0
    /* (3') a loop wait not PASSED before in this wait: one CAS sets
     * WAITERS from a value in which req still does not fit, or (the busy
     * hint, ps->takes: other loops took the free lock AS__PS_BUSY times
     * since the wake; a free choice here) from any value, and HANDOFF :=
     * the head (this slot included, back at its ticket) is STARVING, i.e.
     * a STARVING slot is ahead of it.  SPEC_HANDOFF_KEPT, spec 2 as
     * worded: HANDOFF kept as it is ("while a slot is WOKEN, HANDOFF set
     * <=> the head is STARVING"), wrong when this slot re-enters ahead of
     * that STARVING head (FINDING row); NO_BUSY_HINT: only when req does
     * not fit (the rule before the hint) */
    :: atomic {
#ifdef NO_BUSY_HINT
        count < req[s] &&
#endif
        MAYPASS(me) ->
        if
        :: count >= req[s] -> REACH(51)  /* the busy hint on a free lock */
        :: else -> skip
        fi;
        waiters = 1;
#ifndef SPEC_HANDOFF_KEPT
        handoff = AHEAD(s, STARVING);
#endif
        pass = 1
       }
#endif
#else
    /* the broken variant: a look at COUNT, then a plain store of the bits
     * (and no grant after: the grant would find the permit the release
     * brought and serve the slot; it is 6.3's (3) as worded that needs the
     * CAS) */
    :: count < req[s];
       DIE;
       d_step { waiters = 1; handoff = 1 }
#endif
    fi;
    REACH(16);
    DIE;
    /* log := 0 (the grant was not made), and back in the queue at its old
     * ticket: STARVING (EF3: never WOKEN again, only granted directly);
     * BUG_EF_NO_STARVE: WAITING.  Then the grant: the slot's claim has
     * left woken, and a STARVING head ahead of it may fit now.  (Stores
     * under qlock that no lock-free path reads: HANDOFF and WAITERS are
     * set; a death between them is recovered as one before the first, the
     * reclaim running the grant.) */
    d_step {
        logged = 0;
        log_slot = 0;
        if
        :: pass ->
            /* spec 2: PASSED|seq+1 at its old ticket; its loop's timer
             * armed (BUG_PS_PASSED_NO_TIMER: never) */
            REACH(44);
            assert(!passed[me]);    /* EF3': PASSED at most once per wait */
            passed[me] = 1;
            fst[s] = PASSED;
#ifndef BUG_PS_PASSED_NO_TIMER
            tmr[me] = 1;
#endif
            pass = 0
        :: else ->
#ifndef BUG_EF_NO_STARVE
            fst[s] = STARVING
#else
            fst[s] = WAITING
#endif
        fi;
        fseq[s]++;
        est = fst[s];
        eseq = fseq[s]
    };
#if !defined(BUG_EF_STARVE_NO_GRANT) && !defined(BUG_EF_STARVE_NO_RECHECK)
#if PASS_LOOPS != 0
    grant_some();   /* ps_grant_some_locked, as the C code */
#else
    grant();
#endif
    if
    :: wk != 0 -> REACH(26); q_unlock(me); wake_all_collected(); goto parked
    :: else -> skip
    fi;
#endif
    DIE;
    q_unlock(me);
    goto parked;

    /* ---- the PASSED wait's timer (spec 5: kind->tick on its loop) ----
     * under qlock: still PASSED, HANDOFF raised (finding 4), fw :=
     * STARVING|seq+1, then the full grant (the exact bits; the direct
     * grant if it fits now: GRANTED, woken);
     * BUG_PS_PASSED_TICK_NO_GRANT: STARVING and no grant.  No longer
     * PASSED (cancelled, closed, reclaimed): nothing.  The kernel wait
     * stays queued: the loop sleeps on. */
tick:
    q_lock(me);
    DIE;
    if
    :: fst[s] == PASSED && who[s] == me ->
#ifndef SPEC_TICK_STORE_FIRST
        /* HANDOFF first (ps_hold_locked: the slot may now be a STARVING
         * head), then the store; the grant's CAS writes the exact bits.
         * SPEC_TICK_STORE_FIRST, spec 5 as worded: the store, then the
         * grant's bits: a newcomer takes past the STARVING head in between
         * (EF3': FINDING row) */
        handoff = 1;
        DIE;
#endif
        d_step { REACH(45); tmr[me] = 0; fst[s] = STARVING; fseq[s]++ };
#ifndef BUG_PS_PASSED_TICK_NO_GRANT
        grant();
        if
        :: fst[s] == GRANTED -> REACH(46)
        :: AHEAD(s, PASSED) -> REACH(47)    /* STARVING behind a PASSED head */
        :: else -> skip
        fi
#else
        skip
#endif
    :: else -> d_step { REACH(48); tmr[me] = 0 }
    fi;
    DIE;
    q_unlock(me);
    wake_all_collected();
    goto sleeps;
#endif
died:
    finished++;
end_w:
    skip
}

/* ---- W's other thread: as_cancel of W's wait (8.1) --------------------
 * A thread of W's process: it takes no step once W is dead.  Its critical
 * section is one step here (W's own critical sections have death points
 * inside them, which is what a holder killed mid-section needs). */
proctype canceller()
{
    byte s, h, i, wk;
    bit stolen, ran;
end_c:
    if
#ifndef ROBUST
    :: atomic { wpending && !dead[PW] -> skip }
#else
    /* (ROBUST: only the cancel after a grant that carries OWNER_DEAD: the
     * giveback; the other cancels are the other rows') */
    :: atomic {
        wpending && !dead[PW] && fst[wslot] == GRANTED && who[wslot] == PW && odead -> skip
       }
#endif
    :: atomic { dead[PW] || wdone -> goto cdone }
    fi;
    /* (end labels: a thread of a dead process stays blocked, validly) */
end_c1:
    atomic {
        !dead[PW] && (qlock == 0 || dead[qlock]) ->
        stolen = (qlock != 0);
        qlock = PW;
        if
        :: stolen -> replay(); reclaim(PW); stolen = 0
        :: else -> skip
        fi;
        s = wslot;
        if
#ifdef EVENTUAL
        /* 6.3: a STARVING wait is cancelled as a WAITING one; a WOKEN one
         * records the status (GIVE_UP) and its arrival (1) frees the slot */
        :: fst[s] == STARVING && who[s] == PW -> REACH(23); fst[s] = CANCELLED; fseq[s]++
        /* spec 6: a PASSED wait is cancelled as a WAITING one */
        :: fst[s] == PASSED && who[s] == PW -> REACH(49); fst[s] = CANCELLED; fseq[s]++
        :: fst[s] == WOKEN && who[s] == PW -> REACH(20); give_up[PW] = 1
#endif
        :: fst[s] == WAITING && who[s] == PW ->
#ifdef BUG_CANCEL_FREES
            fst[s] = FREE; fseq[s]++; who[s] = 0; outcome[PW] = 2
#else
            REACH(3); fst[s] = CANCELLED; fseq[s]++
#endif
        :: fst[s] == GRANTED && who[s] == PW -> REACH(4); give_up[PW] = 1
        :: else -> skip                            /* decided: -ENOENT */
        fi;
        grant();
        qlock = 0;
        ran = 1
    };
    /* the grant's wakes, then the kernel wait must complete (P8): a futex
     * wake of the slot word */
end_c2:
    atomic { !dead[PW] -> wake_all_collected() };
end_c3:
    atomic { !dead[PW] -> wake(s) };
cdone:
    skip
}

/* ---- R: the releaser -------------------------------------------------- */
#ifdef KILL_R
/* R killed here (only after its release committed: a holder killed before
 * it released loses its permit, the documented loss of 9.3) */
#define DIE_R \
    if \
    :: !dead[PR] -> \
        if \
        :: qlock == PR -> REACH(11) \
        :: else -> skip \
        fi; \
        dead[PR] = 1; goto rdied \
    :: true -> skip \
    fi

/* the grant with the intent log of 5.3, a death point between its steps */
inline grant_logged()
{
    do
    :: d_step {
        count >= 1 && ANY_WAITING ->
        if
        :: fst[0] == WAITING && (fst[1] != WAITING || ticket[0] < ticket[1]) -> h = 0
        :: else -> h = 1
        fi
       };
#ifndef BUG_NO_LOG
       d_step { logged = 1; log_slot = h };
       DIE_R;
       d_step { count--; applied = 1 };        /* the commit */
#else
       count--;
#endif
       DIE_R;
       d_step { fst[h] = GRANTED; fseq[h]++; wk = wk | (1 << h) };
       DIE_R;
#ifndef BUG_NO_LOG
       applied = 0;
       DIE_R;
       d_step { logged = 0; log_slot = 0 }
#endif
    :: else -> break
    od;
    skip;   /* (spin: a break may not land on a d_step) */
    d_step { waiters = ANY_WAITING; h = 0 }
}
#endif

proctype releaser()
{
    byte me = PR;
    byte h, i, wk;
    bit stolen;
#ifdef EVENTUAL
    byte k;
    bit got;

    /* releases its R_HELD permits one by one, then tries R_BARGES times the
     * lock-free take (a newcomer: !HANDOFF && COUNT >= 1) and releases
     * what it got */
    k = R_HELD;
    do
    :: k > 0 -> release(PR, 1); k--
    :: else -> break
    od;
#ifndef R_FOREVER
    k = R_BARGES;
    do
    :: k > 0 ->
#else
    /* barge again and again until the waiters are done (npfair rows: a
     * waiter must still be served).  Each barge waits until no other
     * process waits for qlock: the queue lock taken as a fair lock (else
     * R's releases under qlock could keep a waiter from it for ever, a
     * cycle of the lock, not of the policy) */
    k = 1;
    do
    :: finished == 2 -> break
    :: qwant == 0 && finished < 2 ->
#endif
        atomic {
            if
            :: !handoff && count >= R_TAKE ->
                newcomer_takes();
                count = count - R_TAKE; held[PR] = held[PR] + R_TAKE; got = 1
            :: else -> got = 0
            fi
        };
#if R_TAKE > 1
        do
        :: held[PR] > 0 -> release(PR, 1)
        :: else -> break
        od;
        got = 0;
#else
        if
        :: got -> got = 0; release(PR, 1)
        :: else -> skip
        fi;
#endif
#ifndef R_FOREVER
        k--
    :: else -> break
#endif
    od;
    finished++
#elif defined(KILL_R)
    q_lock(PR);
    d_step { count++; held[PR]-- };     /* the release commits */
    DIE_R;
    grant_logged();
    DIE_R;
    q_unlock(PR);
    DIE_R;
    wake_all_collected();
    finished++;
    goto rend;
rdied:
    finished++;
rend:
    skip
#else
    release(PR, 1);
    finished++
#endif
}

#ifdef ROBUST
/* ---- H: the holder (ROBUST) -------------------------------------------
 * Takes the lock lock-free (if it is free and nobody waits: else it never
 * holds it and is done), and may be killed at every step from then on:
 * holding the lock, holding qlock in its unlock before or after the CAS
 * that frees the lock, before its wakes. */
#define DIE_H \
    if \
    :: !dead[PH] -> \
        if \
        :: cs[PH] -> REACH(37) \
        :: else -> skip \
        fi; \
        dead[PH] = 1; goto hdied \
    :: true -> skip \
    fi

proctype holderp()
{
    byte me = PH;
    byte h, i, wk;
    bit stolen, rep;
    atomic {
        if
        :: count == 1 && !waiters -> count = 0; held[PH] = 1; TAKEN(PH)
        :: else -> goto hend
        fi
    };
    DIE_H;
    if
    :: atomic {
        !waiters && !odead ->
        count = 1; holder = 0; held[PH] = 0; cs[PH] = 0
       }
    :: atomic { waiters || odead -> skip };
       q_lock(PH);
       DIE_H;
       unlock_locked(PH);
       DIE_H;
       grant();
       DIE_H;
       q_unlock(PH);
       DIE_H;
       wake_all_collected()
    fi;
hend:
    finished++;
    goto hfin;
hdied:
    finished++;
hfin:
    skip
}
#endif

/* ---- X: a live process's health check (9.1, 9.2) --------------------- */
proctype health()
{
    byte h, i, wk;
    bit stolen;
end_x:
    do
    :: atomic {
        (dead[PW] && (who[0] == PW || who[1] == PW || qlock == PW)) ||
#ifdef ROBUST
        /* 10.2: the holder of the lock is dead (P7: a true death only;
         * ps_health, pm_suspect) */
        (count == 0 && holder != 0 && dead[holder]) ||
#endif
        (dead[PR] && qlock == PR) -> skip
       };
       q_lock(PX);
       reclaim(PX);
       q_unlock(PX);
       wake_all_collected()
#ifdef BUG_ROB_LIVE
    /* the broken variant: a holder suspected (held by another process) is
     * taken for dead without the liveness check (P7) */
    :: atomic { count == 0 && holder != 0 && !dead[holder] && qlock == 0 -> skip };
       q_lock(PX);
       owner_dead_locked(true);
       repd = 0;
       grant();
       q_unlock(PX);
       wake_all_collected()
#endif
#ifdef BUG_RECLAIM_LIVE
    :: atomic { !dead[PW] && (who[0] == PW || who[1] == PW) && qlock == 0 -> skip };
       q_lock(PX);
       reclaim(PX);
       q_unlock(PX);
       wake_all_collected()
#endif
    od
}

/* ---- monitor ------------------------------------------------------------ */
#ifndef NO_INVARIANTS
active proctype monitor()
{
end_m:
    do
#ifdef EVENTUAL
    :: atomic {
        started &&
        (!P1 || (qlock == 0 && (HEAD_FITS || waiters != QNONEMPTY || BITS_WRONG)) ||
         PASSED_NO_TIMER(0) || PASSED_NO_TIMER(1) || count > MAXCOUNT) ->
        assert(P1);
        assert(count <= MAXCOUNT);      /* PSMUTEX: PM2, mutual exclusion */
        assert(!(qlock == 0 && HEAD_FITS));                             /* EF1' */
        /* the bits rule of 6.3 */
        assert(!(qlock == 0 && (waiters != QNONEMPTY || BITS_WRONG)));
        /* spec 5: a PASSED slot's timer is armed (its owner alive) */
        assert(!PASSED_NO_TIMER(0) && !PASSED_NO_TIMER(1))
       }
#elif defined(ROBUST)
    :: atomic {
        started &&
        (!P1 || (qlock == 0 && count >= 1 && ANY_WAITING) || !PM1 ||
         count > 1 || !MUTEX_OK || (odead && !dirty)) ->
        assert(PM1);
        assert(count <= 1);                                             /* PM2 */
        assert(MUTEX_OK);                               /* mutual exclusion */
        assert(!odead || dirty);        /* PM3: only after a holder's death */
        assert(P1);
        assert(!(qlock == 0 && count >= 1 && ANY_WAITING))              /* S1 */
       }
#else
    :: atomic {
        started &&
        (!P1 || (qlock == 0 && count >= 1 && ANY_WAITING)) ->
        assert(P1);
        assert(!(qlock == 0 && count >= 1 && ANY_WAITING))              /* S1 */
       }
#endif
    od
}
#endif

init
{
    atomic {
#ifdef ROBUST
        count = 1;          /* the lock free; H takes it */
#else
        held[PR] = TOTAL;
#endif
        started = 1;
        run waiter(PW);
        run waiter(PW2);
#ifndef NO_CANCEL
        run canceller();
#endif
#ifdef ROBUST
        run holderp();
#else
        run releaser();
#endif
        run health();
        run kexit()
    };
    /* the end: everyone done, and the dead reclaimed */
    (finished == 3 && (!dead[PW] || (who[0] != PW && who[1] != PW && qlock != PW)) &&
#ifdef EVENTUAL
     qlock == 0 &&      /* (and X's reclaim and grant done) */
#endif
#ifdef ROBUST
     qlock == 0 && !(count == 0 && holder != 0 && dead[holder]) &&
#endif
     (!dead[PR] || qlock != PR));
    assert(P1);
#ifdef ROBUST
    /* W2 got the lock, or -ENOTRECOVERABLE */
    assert(outcome[PW2] == 1 || outcome[PW2] == 3);
    assert(PM1 && (!odead || dirty));
#else
    assert(outcome[PW2] == 1);                  /* W2 was served */
#endif
    assert(dead[PW] || outcome[PW] != 0);       /* a live W got an outcome */
    assert(held[PW] == 0 && held[PW2] == 0);    /* everyone gave back... */
    assert(count == TOTAL)                      /* ... and the dead took nothing */
#ifdef EVENTUAL
    ;
    assert(!waiters && !handoff && fst[0] != WOKEN && fst[1] != WOKEN &&
           fst[0] != PASSED && fst[1] != PASSED)
#endif
}
