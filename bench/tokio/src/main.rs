//! Tokio baseline for the asyncsync benchmarks.  SPDX-License-Identifier: MIT
//!
//! The workloads of bench/bench_uncontended.c, bench_handoff.c,
//! bench_latency.c and bench_contended.c, with the same parameters (pairs per
//! batch, K, tasks per worker, windows, round trips, warm-up, repetitions),
//! run with Tokio's Semaphore, Mutex, Notify and RwLock.  Every value is the
//! median over repetitions, the workloads interleaved within a repetition, as
//! in the C programs.  bench/run joins the CSV files written here with the C
//! programs' files ("vs Tokio" column); bench/README.md describes the mapping.
//!
//! Every CSV file starts with a `tokio` column (what Tokio runs), then the
//! key columns of the C program's CSV file under the same names (the row of
//! the C file this row is the counterpart of), then the values.
//!
//! Runtimes are built with `enable_all()`, as `#[tokio::main]` does: a Tokio
//! program that does I/O has its I/O and timer drivers, and a worker polls
//! them (epoll) when it runs out of tasks, as an asyncsync loop polls its
//! ring.
//!
//! Written for rustc 1.63 and tokio 1.24 (Debian 12): no newer API.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Runtime};
use tokio::sync::{Mutex, Notify, RwLock, Semaphore};
use tokio::task::yield_now;

const RELAXED: Ordering = Ordering::Relaxed;

// ---- options ---------------------------------------------------------------

const WORKLOADS: [&str; 5] = ["uncontended", "handoff", "latency", "contended", "rwlock"];

struct Opts {
    smoke: bool,
    reps: usize,
    ms: Option<f64>,
    out: Option<PathBuf>,
    only: Vec<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: asyncsync-bench-tokio [--smoke] [--reps N] [--ms N] [--out DIR] [--only W[,W...]]\n\
         \x20 --smoke    one very short repetition (checks that it runs)\n\
         \x20 --reps N   repetitions, medians reported (default 5)\n\
         \x20 --ms N     measurement window of handoff, contended and rwlock, ms\n\
         \x20            (default 150 for handoff and 200 for the others, as in C)\n\
         \x20 --out DIR  write DIR/tokio.md and DIR/tokio_*.csv\n\
         \x20 --only W   workloads: uncontended, handoff, latency, contended, rwlock"
    );
    std::process::exit(2)
}

fn parse_opts() -> Opts {
    let mut o = Opts { smoke: false, reps: 5, ms: None, out: None, only: Vec::new() };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1);
        match (args[i].as_str(), v) {
            ("--smoke", _) => o.smoke = true,
            ("--reps", Some(v)) => {
                o.reps = v.parse().unwrap_or_else(|_| usage());
                i += 1;
            }
            ("--ms", Some(v)) => {
                o.ms = Some(v.parse().unwrap_or_else(|_| usage()));
                i += 1;
            }
            ("--out", Some(v)) => {
                o.out = Some(PathBuf::from(v));
                i += 1;
            }
            ("--only", Some(v)) => {
                for w in v.split(',') {
                    if !WORKLOADS.contains(&w) {
                        usage();
                    }
                    o.only.push(w.to_string());
                }
                i += 1;
            }
            _ => usage(),
        }
        i += 1;
    }
    if o.smoke {
        o.reps = 1;
    }
    if o.reps < 1 || o.reps > 64 {
        eprintln!("bench_tokio: --reps must be 1..64");
        std::process::exit(2);
    }
    o
}

impl Opts {
    fn runs(&self, w: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|x| x == w)
    }
    fn csv(&self, name: &str) -> Option<File> {
        self.out.as_ref().map(|d| {
            let p = d.join(name);
            File::create(&p).unwrap_or_else(|e| panic!("cannot write {}: {}", p.display(), e))
        })
    }
}

// ---- process facts ---------------------------------------------------------

fn online_cpus() -> usize {
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n > 0 {
        n as usize
    } else {
        1
    }
}

/// Pin the calling thread to CPU (cpu % online CPUs).  Best effort.
fn pin_cpu(cpu: usize) {
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu % online_cpus(), &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// CPU time of the whole process (all threads), ns.
fn cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Voluntary + involuntary context switches of the process so far.
fn ctx_switches() -> i64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    (ru.ru_nvcsw + ru.ru_nivcsw) as i64
}

fn current_thread_rt() -> Runtime {
    Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

fn multi_thread_rt(workers: usize) -> Runtime {
    Builder::new_multi_thread().worker_threads(workers).enable_all().build().expect("tokio runtime")
}

// ---- statistics ------------------------------------------------------------

/// One value per repetition for each named measurement.
#[derive(Default)]
struct Results {
    v: HashMap<String, Vec<f64>>,
}

impl Results {
    fn add(&mut self, key: &str, x: f64) {
        self.v.entry(key.to_string()).or_insert_with(Vec::new).push(x);
    }
    fn sorted(&self, key: &str) -> Vec<f64> {
        let mut v = self.v.get(key).cloned().unwrap_or_default();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        v
    }
    fn median(&self, key: &str) -> f64 {
        let v = self.sorted(key);
        let n = v.len();
        if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    }
    fn min(&self, key: &str) -> f64 {
        self.sorted(key).first().copied().unwrap_or(f64::NAN)
    }
    fn max(&self, key: &str) -> f64 {
        self.sorted(key).last().copied().unwrap_or(f64::NAN)
    }
    fn count(&self, key: &str) -> usize {
        self.v.get(key).map_or(0, |v| v.len())
    }
}

/// Nearest-rank percentile of a sorted slice (as pct_u64 in bench/common.c).
fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).max(1).min(sorted.len());
    sorted[rank - 1]
}

fn fmt_rate(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v >= 1e9 {
        format!("{:.2} G/s", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2} M/s", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} k/s", v / 1e3)
    } else {
        format!("{:.0} /s", v)
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns.is_nan() {
        "-".into()
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.1} us", ns / 1e3)
    } else if ns >= 1e3 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{:.1} ns", ns)
    }
}

/// Markdown printed to stdout and copied to <out>/tokio.md.
struct Report {
    md: Option<File>,
}

impl Report {
    fn p(&mut self, s: &str) {
        print!("{}", s);
        let _ = std::io::stdout().flush();
        if let Some(f) = self.md.as_mut() {
            f.write_all(s.as_bytes()).expect("write tokio.md");
        }
    }
}

// ---- 1. uncontended --------------------------------------------------------
//
// bench_uncontended.c: one thread (a second one idles), nobody else touching
// the primitive; n = 2,000,000 pairs per batch, a repetition's value is the
// best of 3 batches.  The *_async counterparts run in a task of a
// current-thread runtime, where Tokio's cooperative budget applies (every
// 128 acquisitions the task yields once to its scheduler), as it does in any
// Tokio task.

struct UncVariant {
    c_name: &'static str, // the bench_uncontended.c variant it stands beside
    calls: &'static str,
}

const UNC: [UncVariant; 5] = [
    UncVariant { c_name: "as_sem try", calls: "Semaphore(1)::try_acquire + drop(permit)" },
    UncVariant { c_name: "as_mutex try", calls: "Mutex::try_lock + drop(guard)" },
    UncVariant { c_name: "as_sem async", calls: "Semaphore(1)::acquire().await (ready) + drop(permit)" },
    UncVariant { c_name: "as_mutex async", calls: "Mutex::lock().await (ready) + drop(guard)" },
    UncVariant { c_name: "as_event async", calls: "Notify::notified().await (permit stored) + notify_one()" },
];

struct UncShared {
    sem: Semaphore,
    mutex: Mutex<()>,
    notify: Notify,
}

fn unc_batch(v: usize, n: u64, rt: &Runtime, sh: &Arc<UncShared>) -> f64 {
    let ok = match v {
        0 | 1 => {
            let t0 = Instant::now();
            let mut ok = true;
            if v == 0 {
                for _ in 0..n {
                    let p = sh.sem.try_acquire();
                    ok &= p.is_ok();
                    drop(p);
                }
            } else {
                for _ in 0..n {
                    let g = sh.mutex.try_lock();
                    ok &= g.is_ok();
                    drop(g);
                }
            }
            (ok, t0.elapsed())
        }
        _ => {
            let sh = sh.clone();
            rt.block_on(async move {
                tokio::spawn(async move {
                    let t0 = Instant::now();
                    match v {
                        2 => {
                            for _ in 0..n {
                                drop(sh.sem.acquire().await.unwrap());
                            }
                        }
                        3 => {
                            for _ in 0..n {
                                drop(sh.mutex.lock().await);
                            }
                        }
                        _ => {
                            for _ in 0..n {
                                sh.notify.notified().await;
                                sh.notify.notify_one();
                            }
                        }
                    }
                    (true, t0.elapsed())
                })
                .await
                .unwrap()
            })
        }
    };
    if !ok.0 {
        panic!("uncontended: {} did not succeed at once", UNC[v].calls);
    }
    ok.1.as_nanos() as f64 / n as f64
}

fn run_uncontended(o: &Opts, rp: &mut Report) {
    let n: u64 = if o.smoke { 20_000 } else { 2_000_000 };
    let (idle_tx, idle_rx) = std::sync::mpsc::channel::<()>();
    let idle = std::thread::spawn(move || {
        let _ = idle_rx.recv();
    });
    pin_cpu(0);
    let rt = current_thread_rt();
    let sh = Arc::new(UncShared { sem: Semaphore::new(1), mutex: Mutex::new(()), notify: Notify::new() });
    sh.notify.notify_one(); // the "set" state the first wait consumes
    let mut res = Results::default();

    for v in 0..UNC.len() {
        unc_batch(v, n / 10 + 1, &rt, &sh); // warm-up
    }
    for _ in 0..o.reps {
        for v in 0..UNC.len() {
            let best = (0..3).map(|_| unc_batch(v, n, &rt, &sh)).fold(f64::INFINITY, f64::min);
            res.add(UNC[v].c_name, best);
        }
    }
    drop(idle_tx);
    idle.join().unwrap();

    rp.p("### Tokio: uncontended acquire + release (ns per pair)\n\n");
    rp.p(&format!(
        "{} pairs per batch, best of 3 batches per repetition, median of {} repetitions; \
         one thread runs them (a second one idles). The async calls run in a task of a \
         current-thread runtime.\n\n",
        n, o.reps
    ));
    rp.p("| Tokio calls | beside | ns/pair (median) | min | max |\n|---|---|---:|---:|---:|\n");
    let mut csv = o.csv("tokio_uncontended.csv");
    if let Some(f) = csv.as_mut() {
        writeln!(f, "tokio,variant,ns_per_pair_median,ns_min,ns_max,reps").unwrap();
    }
    for u in UNC.iter() {
        let k = u.c_name;
        rp.p(&format!(
            "| {} | {} | {:.2} | {:.2} | {:.2} |\n",
            u.calls,
            k,
            res.median(k),
            res.min(k),
            res.max(k)
        ));
        if let Some(f) = csv.as_mut() {
            writeln!(
                f,
                "{},{},{:.3},{:.3},{:.3},{}",
                u.calls,
                k,
                res.median(k),
                res.min(k),
                res.max(k),
                res.count(k)
            )
            .unwrap();
        }
    }
    rp.p("\n");
}

// ---- 2. same-loop hand-off -------------------------------------------------
//
// bench_handoff.c: K tasks (2, 64, 1024) on one loop contend for one mutex,
// and separately one semaphore(1); 150 ms windows after 2K + 100 warm-up
// hand-offs, the clock read every 256 hand-offs.  Here: K tasks on one
// current-thread runtime.  Tokio's Mutex and Semaphore are FIFO: a release
// hands the permit to the oldest waiter, and the releaser's next lock()
// queues at the tail, so each acquisition is one hand-off.
//
//   hold    (the C workload) the holder keeps it across one pass of the
//           scheduler: acquire, count, yield_now().await, release, ask again.
//           A yielded task runs again after the runtime has run every other
//           ready task and polled its drivers (tokio 1.24 defers it).
//   direct  acquire, count, release, ask again, all in the poll that
//           acquired: the least a Tokio hand-off costs (informational).

struct HoShared {
    sem: Semaphore,
    mutex: Mutex<()>,
    base: Instant,
    window_ns: u64,
    warm: u64,
    // Only the runtime's thread touches these: relaxed loads and stores.
    handoffs: AtomicU64,
    stop: AtomicBool,
    t0: AtomicU64,
    t1: AtomicU64,
    h1: AtomicU64,
}

impl HoShared {
    fn now(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }
    /// A task acquired the lock.  Returns true when the window is over.
    #[inline]
    fn acquired(&self) -> bool {
        if self.stop.load(RELAXED) {
            return true;
        }
        let h = self.handoffs.load(RELAXED) + 1;
        self.handoffs.store(h, RELAXED);
        if h == self.warm {
            self.t0.store(self.now(), RELAXED);
        } else if h > self.warm && (h - self.warm) % 256 == 0 {
            let t = self.now();
            if t - self.t0.load(RELAXED) >= self.window_ns {
                self.t1.store(t, RELAXED);
                self.h1.store(h, RELAXED);
                self.stop.store(true, RELAXED);
            }
        }
        false
    }
}

async fn ho_mutex_task(sh: Arc<HoShared>, hold: bool) {
    loop {
        let g = sh.mutex.lock().await;
        let done = sh.acquired();
        if hold {
            yield_now().await;
        }
        drop(g);
        if done {
            return;
        }
    }
}

async fn ho_sem_task(sh: Arc<HoShared>, hold: bool) {
    loop {
        let p = sh.sem.acquire().await.unwrap();
        let done = sh.acquired();
        if hold {
            yield_now().await;
        }
        drop(p);
        if done {
            return;
        }
    }
}

/// Hand-offs per second over a window of `ms`.
fn ho_measure(rt: &Runtime, sem: bool, hold: bool, k: usize, ms: f64) -> f64 {
    let sh = Arc::new(HoShared {
        sem: Semaphore::new(1),
        mutex: Mutex::new(()),
        base: Instant::now(),
        window_ns: (ms * 1e6) as u64,
        warm: 2 * k as u64 + 100,
        handoffs: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        t0: AtomicU64::new(0),
        t1: AtomicU64::new(0),
        h1: AtomicU64::new(0),
    });
    let s = sh.clone();
    rt.block_on(async move {
        let mut hs = Vec::with_capacity(k);
        for _ in 0..k {
            hs.push(if sem {
                tokio::spawn(ho_sem_task(s.clone(), hold))
            } else {
                tokio::spawn(ho_mutex_task(s.clone(), hold))
            });
        }
        for h in hs {
            h.await.unwrap();
        }
    });
    let (t0, t1, h1) = (sh.t0.load(RELAXED), sh.t1.load(RELAXED), sh.h1.load(RELAXED));
    (h1 - sh.warm) as f64 * 1e9 / (t1 - t0) as f64
}

const HO_IMPL: [(&str, &str); 2] = [("async-mutex", "Mutex"), ("async-sem", "Semaphore(1)")];
const HO_VARIANT: [&str; 2] = ["hold", "direct"];

fn run_handoff(o: &Opts, rp: &mut Report) {
    let ks = [2usize, 64, 1024];
    let ms = o.ms.unwrap_or(if o.smoke { 3.0 } else { 150.0 });
    pin_cpu(0);
    let rt = current_thread_rt();
    let mut res = Results::default();
    for _ in 0..o.reps {
        for &k in ks.iter() {
            for (ii, imp) in HO_IMPL.iter().enumerate() {
                for (vi, var) in HO_VARIANT.iter().enumerate() {
                    let r = ho_measure(&rt, ii == 1, vi == 0, k, ms);
                    res.add(&format!("{}|{}|{}", imp.0, var, k), r);
                }
            }
        }
    }

    rp.p("### Tokio: same-thread hand-off (hand-offs per second)\n\n");
    rp.p(&format!(
        "K tasks on one current-thread runtime contend for one lock. hold (the C workload): \
         the holder keeps it across one yield_now(), then releases and asks again; \
         direct: release and ask again in the poll that acquired. {:.0} ms windows, \
         median of {} repetitions.\n\n",
        ms, o.reps
    ));
    rp.p("| K | Tokio | variant | hand-offs/s | ns/hand-off | min | max |\n");
    rp.p("|---:|---|---|---:|---:|---:|---:|\n");
    let mut csv = o.csv("tokio_handoff.csv");
    if let Some(f) = csv.as_mut() {
        writeln!(f, "tokio,k,impl,variant,handoffs_per_s_median,min,max,reps,ns_per_handoff").unwrap();
    }
    for &k in ks.iter() {
        for imp in HO_IMPL.iter() {
            for var in HO_VARIANT.iter() {
                let key = format!("{}|{}|{}", imp.0, var, k);
                let m = res.median(&key);
                rp.p(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} |\n",
                    k,
                    imp.1,
                    var,
                    fmt_rate(m),
                    fmt_ns(1e9 / m),
                    fmt_rate(res.min(&key)),
                    fmt_rate(res.max(&key))
                ));
                if let Some(f) = csv.as_mut() {
                    writeln!(
                        f,
                        "{},{},{},{},{:.1},{:.1},{:.1},{},{:.2}",
                        imp.1,
                        k,
                        imp.0,
                        var,
                        m,
                        res.min(&key),
                        res.max(&key),
                        res.count(&key),
                        1e9 / m
                    )
                    .unwrap();
                }
            }
        }
    }
    rp.p("\n");
}

// ---- 3. cross-thread Notify round trip -------------------------------------
//
// bench_latency.c ("asyncsync event"): thread A (CPU 0) and thread B (CPU 1)
// each run a loop, here a current-thread runtime; A notifies B's Notify and
// waits on its own, B's task waits, then notifies A's.  A timestamps each
// round trip, from just before it notifies B to its own wake-up.  A sleeping
// current-thread runtime with drivers blocks in epoll_wait and is woken
// through its eventfd.  20,000 round trips per repetition after rounds/20 +
// 100 warm-up; then a shorter pass with both threads on CPU 0.

fn notify_round_trips(rounds: usize, warm: usize, cpu_b: usize) -> Vec<u64> {
    let na = Arc::new(Notify::new());
    let nb = Arc::new(Notify::new());
    let stop = Arc::new(AtomicBool::new(false));
    let (na2, nb2, stop2) = (na.clone(), nb.clone(), stop.clone());
    let b = std::thread::spawn(move || {
        pin_cpu(cpu_b);
        current_thread_rt().block_on(async move {
            loop {
                nb2.notified().await;
                if stop2.load(Ordering::Acquire) {
                    break;
                }
                na2.notify_one();
            }
        });
    });
    let a = std::thread::spawn(move || {
        pin_cpu(0);
        let rt = current_thread_rt();
        rt.block_on(async move {
            tokio::spawn(async move {
            let mut samples = Vec::with_capacity(rounds);
            for i in 0..rounds + warm {
                let t0 = Instant::now();
                nb.notify_one();
                na.notified().await;
                let dt = t0.elapsed().as_nanos() as u64;
                if i >= warm {
                    samples.push(dt);
                }
            }
            stop.store(true, Ordering::Release);
            nb.notify_one();
            samples
            })
            .await
            .unwrap()
        })
    });
    let samples = a.join().unwrap();
    b.join().unwrap();
    samples
}

const PCTS: [(f64, &str); 4] = [(0.5, "p50"), (0.99, "p99"), (0.999, "p99.9"), (1.0, "max")];

fn run_latency(o: &Opts, rp: &mut Report) {
    let rounds = if o.smoke { 200 } else { 20_000 };
    let warm = if o.smoke { 20 } else { rounds / 20 + 100 };
    let srounds = rounds / 4 + 1;
    let mut res = Results::default();
    let mut all: Vec<u64> = Vec::new();
    for _ in 0..o.reps {
        let mut s = notify_round_trips(rounds, warm, 1);
        all.extend_from_slice(&s);
        s.sort_unstable();
        for (p, name) in PCTS.iter() {
            res.add(name, pct(&s, *p) as f64);
        }
        res.add("mean", s.iter().map(|&x| x as f64).sum::<f64>() / s.len() as f64);
    }
    for _ in 0..o.reps {
        let mut s = notify_round_trips(srounds, warm / 4 + 1, 0);
        s.sort_unstable();
        res.add("same|p50", pct(&s, 0.5) as f64);
        res.add("same|p99", pct(&s, 0.99) as f64);
    }

    let label = "Notify round trip (two current-thread runtimes)";
    rp.p("### Tokio: cross-thread Notify round trip\n\n");
    rp.p(&format!(
        "{} round trips per repetition (after {} warm-up), each percentile the median of \
         {} repetitions; thread A on CPU 0, B on CPU 1, then both on CPU 0 ({} round trips).\n\n",
        rounds, warm, o.reps, srounds
    ));
    rp.p("| Tokio | CPUs | p50 | p99 | p99.9 | max | mean |\n|---|---|---:|---:|---:|---:|---:|\n");
    rp.p(&format!(
        "| {} | 0, 1 | {} | {} | {} | {} | {} |\n",
        label,
        fmt_ns(res.median("p50")),
        fmt_ns(res.median("p99")),
        fmt_ns(res.median("p99.9")),
        fmt_ns(res.median("max")),
        fmt_ns(res.median("mean"))
    ));
    rp.p(&format!(
        "| {} | 0, 0 | {} | {} | | | |\n\n",
        label,
        fmt_ns(res.median("same|p50")),
        fmt_ns(res.median("same|p99"))
    ));
    if let Some(mut f) = o.csv("tokio_latency.csv") {
        writeln!(f, "tokio,impl,p50_ns,p99_ns,p99_9_ns,max_ns,mean_ns,reps,rounds").unwrap();
        writeln!(
            f,
            "Notify,event,{:.0},{:.0},{:.0},{:.0},{:.1},{},{}",
            res.median("p50"),
            res.median("p99"),
            res.median("p99.9"),
            res.median("max"),
            res.median("mean"),
            res.count("p50"),
            rounds
        )
        .unwrap();
    }
    if let Some(mut f) = o.csv("tokio_latency_same_cpu.csv") {
        writeln!(f, "tokio,impl,p50_ns,p99_ns").unwrap();
        writeln!(f, "Notify,event,{:.0},{:.0}", res.median("same|p50"), res.median("same|p99")).unwrap();
    }
    // Same format as latency_cdf.csv: quantiles of every repetition's samples.
    if let Some(mut f) = o.csv("tokio_latency_cdf.csv") {
        all.sort_unstable();
        writeln!(f, "impl,backend,quantile,ns").unwrap();
        for i in 1..=1000 {
            if i == 1000 {
                for j in 1..10 {
                    let q = 0.999 + j as f64 / 10000.0;
                    writeln!(f, "tokio-notify,-,{:.4},{}", q, pct(&all, q)).unwrap();
                }
            }
            let q = i as f64 / 1000.0;
            writeln!(f, "tokio-notify,-,{:.4},{}", q, pct(&all, q)).unwrap();
        }
    }
}

// ---- 4. contended throughput (and RwLock) ----------------------------------
//
// bench_contended.c: T loops (T = 1, 2, 4) x 64 tasks share a sem(4) or a
// mutex; here a multi-thread runtime with T workers and 64 x T tasks.  A task
// acquires, counts, and either
//   short: releases at once and asks again after a yield_now() (the C task
//          asks again at its loop's next iteration), or
//   hold:  keeps it across a yield_now(), then releases and asks again.
// The main thread, not a worker, times a 200 ms window (it sleeps through
// it).  Reported: acquisitions per second, process CPU time per acquisition,
// context switches per 1000 acquisitions; the mutex also checks mutual
// exclusion (a counter under the lock = the acquisitions).
//
// RwLock (bench_rwlock.c's as_rwlock rows stand beside it): the same tasks,
// 1 write in 20 operations (read-mostly) or 1 in 2 (write-heavy), short and
// hold; task i starts its operation count at i, as task i of loop l does at
// l * 64 + i in the C program.

const TASKS: usize = 64;

#[derive(Clone, Copy, PartialEq)]
enum Prim {
    Sem4,
    Mutex,
    RwReadMostly,
    RwWriteHeavy,
}

impl Prim {
    fn name(self) -> &'static str {
        match self {
            Prim::Sem4 => "sem4",
            Prim::Mutex => "mutex",
            Prim::RwReadMostly => "rwlock-read-mostly",
            Prim::RwWriteHeavy => "rwlock-write-heavy",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Prim::Sem4 => "Semaphore(4)",
            Prim::Mutex => "Mutex",
            Prim::RwReadMostly => "RwLock, 5% writes",
            Prim::RwWriteHeavy => "RwLock, 50% writes",
        }
    }
    /// One operation in `every` is a write (RwLock only).
    fn write_every(self) -> u64 {
        match self {
            Prim::RwReadMostly => 20,
            _ => 2,
        }
    }
}

struct CShared {
    sem: Semaphore,
    mutex: Mutex<u64>,
    rw: RwLock<u64>,
    stop: AtomicBool,
}

/// Returns (acquisitions, writes) of one task.
async fn c_task(sh: Arc<CShared>, prim: Prim, hold: bool, id: u64) -> (u64, u64) {
    let (mut n, mut w) = (0u64, 0u64);
    let mut op = id; // spreads the writes of the tasks over time
    while !sh.stop.load(RELAXED) {
        match prim {
            Prim::Sem4 => {
                let p = sh.sem.acquire().await.unwrap();
                n += 1;
                if hold {
                    yield_now().await;
                }
                drop(p);
            }
            Prim::Mutex => {
                let mut g = sh.mutex.lock().await;
                *g += 1;
                n += 1;
                if hold {
                    yield_now().await;
                }
                drop(g);
            }
            Prim::RwReadMostly | Prim::RwWriteHeavy => {
                op += 1;
                if op % prim.write_every() == 0 {
                    let mut g = sh.rw.write().await;
                    *g += 1;
                    w += 1;
                    n += 1;
                    if hold {
                        yield_now().await;
                    }
                    drop(g);
                } else {
                    let g = sh.rw.read().await;
                    if *g == u64::MAX {
                        panic!("impossible");
                    }
                    n += 1;
                    if hold {
                        yield_now().await;
                    }
                    drop(g);
                }
            }
        }
        if !hold {
            yield_now().await;
        }
    }
    (n, w)
}

struct Sample {
    rate: f64,
    cpu_per_acq: f64,
    csw_per_k: f64,
}

fn c_measure(prim: Prim, hold: bool, workers: usize, ms: f64) -> Sample {
    let rt = multi_thread_rt(workers);
    let sh = Arc::new(CShared {
        sem: Semaphore::new(4),
        mutex: Mutex::new(0),
        rw: RwLock::new(0),
        stop: AtomicBool::new(false),
    });
    // Let the workers start and park before the window opens.
    rt.block_on(async {
        for _ in 0..workers {
            tokio::spawn(async {}).await.unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(1));
    let s0 = ctx_switches();
    let c0 = cpu_ns();
    let t0 = Instant::now();
    let hs: Vec<_> = (0..(TASKS * workers) as u64).map(|id| rt.spawn(c_task(sh.clone(), prim, hold, id))).collect();
    std::thread::sleep(Duration::from_micros((ms * 1e3) as u64));
    sh.stop.store(true, RELAXED);
    let dt = t0.elapsed();
    let c1 = cpu_ns();
    let s1 = ctx_switches();
    let (acq, writes) = rt.block_on(async move {
        let (mut a, mut w) = (0u64, 0u64);
        for h in hs {
            let (n, x) = h.await.unwrap();
            a += n;
            w += x;
        }
        (a, w)
    });
    let guarded = match prim {
        Prim::Sem4 => None,
        Prim::Mutex => Some((*sh.mutex.try_lock().unwrap(), acq)),
        _ => Some((*sh.rw.try_read().unwrap(), writes)),
    };
    if let Some((g, a)) = guarded {
        if g != a {
            panic!("contended {}: mutual exclusion broken: {} guarded increments, {} acquisitions", prim.name(), g, a);
        }
    }
    drop(rt);
    // tasks count up to when they see `stop`: a few acquisitions after the
    // window at most, negligible in a window of this length
    let acqf = acq as f64;
    Sample {
        rate: acqf * 1e9 / dt.as_nanos() as f64,
        cpu_per_acq: if acq > 0 { (c1 - c0) as f64 / acqf } else { f64::NAN },
        csw_per_k: if acq > 0 { (s1 - s0) as f64 * 1000.0 / acqf } else { f64::NAN },
    }
}

fn run_contended(o: &Opts, rp: &mut Report, prims: &[Prim], csv_name: &str, title: &str) {
    let ts = [1usize, 2, 4];
    let ms = o.ms.unwrap_or(if o.smoke { 10.0 } else { 200.0 });
    let mut res = Results::default();
    for _ in 0..o.reps {
        for &prim in prims {
            for hold in [false, true] {
                for &t in ts.iter() {
                    let s = c_measure(prim, hold, t, ms);
                    let key = format!("{}|{}|{}", prim.name(), hold, t);
                    res.add(&format!("{}|rate", key), s.rate);
                    res.add(&format!("{}|cpu", key), s.cpu_per_acq);
                    res.add(&format!("{}|csw", key), s.csw_per_k);
                }
            }
        }
    }

    rp.p(&format!("### Tokio: {}\n\n", title));
    rp.p(&format!(
        "A multi-thread runtime with T workers x {} tasks shares one primitive; {:.0} ms \
         windows, median of {} repetitions. short = release, yield_now(), ask again; \
         hold = keep it across a yield_now(). CPU = process CPU time per acquisition; \
         csw = context switches per 1000 acquisitions. {} CPUs.\n\n",
        TASKS,
        ms,
        o.reps,
        online_cpus()
    ));
    rp.p("| Tokio | mode | T (workers) | acquisitions/s | CPU/acq | csw/1k acq | min | max |\n");
    rp.p("|---|---|---:|---:|---:|---:|---:|---:|\n");
    let mut csv = o.csv(csv_name);
    if let Some(f) = csv.as_mut() {
        writeln!(
            f,
            "tokio,primitive,mode,threads,tasks,acq_per_s_median,acq_per_s_min,acq_per_s_max,\
             cpu_ns_per_acq,csw_per_1k_acq,reps"
        )
        .unwrap();
    }
    for &prim in prims {
        for hold in [false, true] {
            for &t in ts.iter() {
                let key = format!("{}|{}|{}", prim.name(), hold, t);
                let mode = if hold { "hold" } else { "short" };
                let rate = res.median(&format!("{}|rate", key));
                let cpu = res.median(&format!("{}|cpu", key));
                let csw = res.median(&format!("{}|csw", key));
                let (lo, hi) = (res.min(&format!("{}|rate", key)), res.max(&format!("{}|rate", key)));
                rp.p(&format!(
                    "| {} | {} | {} | {} | {} | {:.2} | {} | {} |\n",
                    prim.label(),
                    mode,
                    t,
                    fmt_rate(rate),
                    fmt_ns(cpu),
                    csw,
                    fmt_rate(lo),
                    fmt_rate(hi)
                ));
                if let Some(f) = csv.as_mut() {
                    writeln!(
                        f,
                        "{},{},{},{},{},{:.0},{:.0},{:.0},{:.1},{:.3},{}",
                        prim.label(),
                        prim.name(),
                        mode,
                        t,
                        TASKS * t,
                        rate,
                        lo,
                        hi,
                        cpu,
                        csw,
                        res.count(&format!("{}|rate", key))
                    )
                    .unwrap();
                }
            }
        }
    }
    rp.p("\n");
}

// ---- main ------------------------------------------------------------------

fn main() {
    let o = parse_opts();
    if let Some(d) = o.out.as_ref() {
        std::fs::create_dir_all(d).expect("create --out directory");
    }
    let mut rp = Report { md: o.csv("tokio.md") };
    rp.p("## Tokio baseline (tokio 1.24)\n\n");
    rp.p(
        "The same workloads with Tokio's primitives, in a separate process after the C \
         programs (bench/tokio/). Tokio's Mutex, Semaphore and RwLock are FIFO: a release \
         hands the permit to the oldest waiter. The \"vs Tokio\" columns above divide each \
         asyncsync median by its counterpart's below.\n\n",
    );
    // The workloads run one after the other, in one process; each sets the
    // affinity of the threads it runs on.
    if o.runs("uncontended") {
        run_uncontended(&o, &mut rp);
    }
    if o.runs("handoff") {
        run_handoff(&o, &mut rp);
    }
    if o.runs("latency") {
        run_latency(&o, &mut rp);
    }
    // the main thread only times the windows; workers may run anywhere
    pin_all_cpus();
    if o.runs("contended") {
        run_contended(&o, &mut rp, &[Prim::Sem4, Prim::Mutex], "tokio_contended.csv", "contended throughput");
    }
    if o.runs("rwlock") {
        run_contended(
            &o,
            &mut rp,
            &[Prim::RwReadMostly, Prim::RwWriteHeavy],
            "tokio_rwlock.csv",
            "RwLock throughput (beside bench_rwlock's as_rwlock rows)",
        );
    }
}

/// Undo pin_cpu for the calling thread (threads it creates inherit it).
fn pin_all_cpus() {
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        for c in 0..online_cpus() {
            libc::CPU_SET(c, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}
