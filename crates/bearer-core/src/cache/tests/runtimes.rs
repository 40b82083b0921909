//! The runtime-flavour matrix: current-thread driven by `block_on` per call with idle gaps,
//! multi-thread, a runtime shut down mid-refresh, one cache used from two runtimes; and the
//! shutdown defects (a freshness mark outliving its timer, a self-deadlock inside `spawn`).

use std::future::Future;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::time::Instant;

use super::{cache, deterministic, same, secret, ScriptedSource, HOUR};
use crate::{Error, TimeSource, Token, TokenCache, TokenSource};

/// A clock the test moves by hand, shared by every runtime.
#[derive(Debug, Clone)]
struct ManualClock {
    start: Instant,
    elapsed: Arc<Mutex<Duration>>,
}

impl ManualClock {
    fn new() -> Self {
        Self { start: Instant::now(), elapsed: Arc::default() }
    }

    fn advance(&self, by: Duration) {
        *self.elapsed.lock().expect("clock lock") += by;
    }
}

impl TimeSource for ManualClock {
    fn now(&self) -> Instant {
        self.start + *self.elapsed.lock().expect("clock lock")
    }
}

fn current_thread(paused: bool) -> Runtime {
    Builder::new_current_thread().enable_all().start_paused(paused).build().expect("runtime")
}

fn multi_thread() -> Runtime {
    Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// Shuts `runtime` down and keeps a handle to it.
fn shut_down(runtime: Runtime) -> Handle {
    let handle = runtime.handle().clone();
    drop(runtime);
    handle
}

/// Polls `future` once, outside any executor.
fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    std::pin::pin!(future).poll(&mut Context::from_waker(Waker::noop()))
}

/// Runs `f` on its own thread; fails the test if it has not returned after a minute (a hang
/// detector for deadlocks, not a timing assertion: the work itself takes microseconds).
fn without_hanging<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(f());
    });
    finished.recv_timeout(Duration::from_secs(60)).expect("the call hung (deadlock)")
}

#[test]
fn current_thread_block_on_per_call_never_serves_an_expired_token() {
    // The way CLI tools and sync wrappers drive tokio: one block_on per call, idle between.
    let runtime = current_thread(true);
    let source = ScriptedSource::new(Some(Duration::from_secs(2)), Duration::ZERO);
    let cache = cache(&source);
    let first = runtime.block_on(cache.token()).expect("token");
    // The clock moves 3 s while no task of the cache gets to run.
    runtime.block_on(tokio::time::advance(Duration::from_secs(3)));
    let again = runtime.block_on(cache.token()).expect("token");
    assert!(!same(&first, &again), "an expired token was served");
    assert_eq!(source.fetches(), 2);
}

#[test]
fn a_hit_reads_the_clock_whether_or_not_any_task_ran() {
    let clock = ManualClock::new();
    let source = ScriptedSource::new(Some(Duration::from_secs(2)), Duration::ZERO);
    let cache = TokenCache::with_time_source(Arc::clone(&source), deterministic(), clock.clone());
    let runtime = current_thread(false);
    let first = runtime.block_on(cache.token()).expect("token");
    assert!(same(&first, &cache.try_token().expect("fresh")));
    clock.advance(Duration::from_secs(3));
    assert!(cache.try_token().is_none(), "expired, though nothing ran in between");
    assert_eq!(secret(&runtime.block_on(cache.token()).expect("token")), "token-2");
}

#[test]
fn multi_thread_workers_each_check_the_clock() {
    let clock = ManualClock::new();
    let source = ScriptedSource::new(Some(HOUR), Duration::ZERO);
    let cache = TokenCache::with_time_source(Arc::clone(&source), deterministic(), clock.clone());
    let runtime = multi_thread();
    let round = |cache: &TokenCache<Arc<ScriptedSource>>| {
        runtime.block_on(async {
            let tasks: Vec<_> = (0..64)
                .map(|_| {
                    let cache = cache.clone();
                    tokio::spawn(async move {
                        (0..100).map(|_| cache.try_token().map(|t| secret(&t).to_owned())).collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut served = Vec::new();
            for task in tasks {
                served.extend(task.await.expect("task"));
            }
            assert_eq!(served.len(), 64 * 100);
            served
        })
    };
    runtime.block_on(cache.token()).expect("token");
    assert!(round(&cache).iter().all(|s| s.as_deref() == Some("token-1")), "every worker serves the token");
    // Past the stale point: no worker may serve its copy any longer.
    clock.advance(HOUR - Duration::from_secs(10));
    assert!(round(&cache).iter().all(Option::is_none), "a worker served its copy past the stale point");
    runtime.block_on(cache.token()).expect("token");
    assert!(round(&cache).iter().all(|s| s.as_deref() == Some("token-2")), "every worker serves the new token");
    assert_eq!(source.fetches(), 2);
}

#[test]
fn a_runtime_shut_down_mid_refresh_leaves_the_cache_usable() {
    let source = ScriptedSource::new(Some(HOUR), Duration::from_secs(5));
    let cache = cache(&source);
    let first = current_thread(false);
    // One caller starts the refresh on `first`, gives up, and the runtime shuts down with the
    // refresh in flight.
    first.block_on(async { tokio::time::timeout(Duration::from_millis(1), cache.token()).await.expect_err("slow") });
    drop(first);
    assert_eq!(source.fetches(), 1, "the refresh had started");
    // A caller on another runtime is not told to wait for the dead flight, nor backed off.
    let second = current_thread(true);
    let token = second.block_on(cache.token()).expect("token");
    assert_eq!(secret(&token), "token-2");
}

/// A source whose fetches after the first wait until the test opens the gate.
struct GatedSource {
    inner: Arc<ScriptedSource>,
    gate: tokio::sync::Semaphore,
}

#[async_trait::async_trait]
impl TokenSource for GatedSource {
    async fn fetch(&self) -> Result<Token, Error> {
        if self.inner.fetches() >= 1 {
            self.gate.acquire().await.expect("the gate is never closed").forget();
        }
        self.inner.fetch().await
    }
}

#[test]
fn one_cache_used_from_two_runtimes() {
    let clock = ManualClock::new();
    let scripted = ScriptedSource::new(Some(HOUR), Duration::ZERO);
    let source = Arc::new(GatedSource { inner: Arc::clone(&scripted), gate: tokio::sync::Semaphore::new(0) });
    let cache = TokenCache::with_time_source(Arc::clone(&source), deterministic(), clock.clone());
    let (one, two) = (multi_thread(), multi_thread());
    let first = one.block_on(cache.token()).expect("token");
    assert!(same(&first, &two.block_on(cache.token()).expect("token")), "one fetch serves both");
    // Refresh-ahead, started from the second runtime (and held at the gate); both keep being
    // served meanwhile.
    clock.advance(Duration::from_secs(3400));
    assert!(same(&first, &two.block_on(cache.token()).expect("token")));
    assert!(same(&first, &one.block_on(cache.token()).expect("token")));
    assert_eq!(scripted.fetches(), 1, "the refresh waits at the gate");
    // Past the stale point the first runtime waits for the refresh running on the second.
    clock.advance(Duration::from_secs(180));
    source.gate.add_permits(1);
    assert_eq!(secret(&one.block_on(cache.token()).expect("token")), "token-2");
    drop(two);
    assert_eq!(secret(&one.block_on(cache.token()).expect("token")), "token-2");
    assert_eq!(scripted.fetches(), 2);
}

#[test]
fn a_refresh_spawned_on_a_shut_down_runtime_fails_without_deadlocking() {
    let source = ScriptedSource::new(Some(HOUR), Duration::ZERO);
    let cache = cache(&source);
    let handle = shut_down(current_thread(false));
    // tokio drops a task spawned on a shut-down runtime inside `spawn`; the task's guard
    // takes the cache's lock, which the spawner must not hold.
    let outcome = without_hanging({
        let cache = cache.clone();
        move || {
            let _entered = handle.enter();
            poll_once(cache.token())
        }
    });
    assert!(matches!(outcome, Poll::Ready(Err(Error::Abandoned))), "{outcome:?}");
    assert_eq!(source.fetches(), 0);
    assert_eq!(secret(&current_thread(true).block_on(cache.token()).expect("token")), "token-1");
}

#[test]
fn a_token_served_through_a_shut_down_runtime_still_goes_stale() {
    // Once, arming a freshness timer through a dead runtime set a mark nothing would clear.
    let clock = ManualClock::new();
    let source = ScriptedSource::new(Some(HOUR), Duration::ZERO);
    let cache = TokenCache::with_time_source(Arc::clone(&source), deterministic(), clock.clone());
    let runtime = current_thread(false);
    let token = runtime.block_on(cache.token()).expect("token");
    let handle = shut_down(runtime);
    let outcome = without_hanging({
        let cache = cache.clone();
        move || {
            let _entered = handle.enter();
            assert!(same(&token, &cache.try_token().expect("still fresh")));
            clock.advance(HOUR);
            assert!(cache.try_token().is_none(), "expired");
            poll_once(cache.token()).map(|r| r.map(|t| secret(&t).to_owned()))
        }
    });
    assert!(matches!(outcome, Poll::Ready(Err(Error::Abandoned))), "no runtime to refresh on: {outcome:?}");
}
