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
    // The refresh is held at the gate for longer than the default fetch timeout on the
    // cache's clock; past that it would count as stuck and be replaced.
    let policy = deterministic().with_fetch_timeout(HOUR);
    let cache = TokenCache::with_time_source(Arc::clone(&source), policy, clock.clone());
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

/// A cache whose token was fetched on `stuck`, and whose clock the test moves.
fn fetched_on(stuck: &Runtime) -> (ManualClock, Arc<ScriptedSource>, TokenCache<Arc<ScriptedSource>>) {
    let clock = ManualClock::new();
    let source = ScriptedSource::new(Some(HOUR), Duration::ZERO);
    let cache = TokenCache::with_time_source(Arc::clone(&source), deterministic(), clock.clone());
    assert_eq!(secret(&stuck.block_on(cache.token()).expect("token")), "token-1");
    (clock, source, cache)
}

#[test]
fn a_refresh_stuck_on_a_runtime_nobody_drives_is_replaced_once_overdue() {
    // A background refresh is spawned on a current-thread runtime whose `block_on` has
    // returned and that is never driven again: its task never runs.
    let stuck = current_thread(false);
    let (clock, source, cache) = fetched_on(&stuck);
    clock.advance(Duration::from_secs(3400));
    {
        let _entered = stuck.enter();
        assert_eq!(secret(&cache.try_token().expect("inside the refresh-ahead window")), "token-1");
    }
    // Past the stale point (and the stuck flight's fetch timeout), a caller on another runtime
    // starts its own refresh instead of waiting forever.
    clock.advance(Duration::from_secs(200));
    let token = without_hanging(move || current_thread(true).block_on(cache.token()).map(|t| secret(&t).to_owned()));
    assert_eq!(token.expect("token"), "token-2");
    assert_eq!(source.fetches(), 2, "the stuck refresh never fetched; the new one did");
}

#[test]
fn a_caller_waiting_for_a_stuck_refresh_gives_up_on_it_at_the_fetch_deadline() {
    let stuck = current_thread(false);
    let (clock, source, cache) = fetched_on(&stuck);
    // Past the stale point, a caller on `stuck` starts the refresh, and is dropped after one
    // poll; `stuck` is never driven again.
    clock.advance(Duration::from_secs(3575));
    {
        let _entered = stuck.enter();
        assert!(poll_once(cache.token()).is_pending());
    }
    // A caller on another runtime waits for it, until the fetch timeout says it is stuck
    // (its paused clock moves while the cache's does not), then refreshes on its own runtime.
    let token = without_hanging(move || current_thread(true).block_on(cache.token()).map(|t| secret(&t).to_owned()));
    assert_eq!(token.expect("token"), "token-2");
    assert_eq!(source.fetches(), 2);
}

#[test]
fn a_caller_waiting_for_a_refresh_whose_runtime_shuts_down_refreshes_on_its_own() {
    let source = ScriptedSource::new(Some(HOUR), Duration::ZERO);
    let cache = cache(&source);
    let dying = current_thread(false);
    {
        // A caller on `dying` starts the refresh and is dropped after one poll.
        let _entered = dying.enter();
        assert!(poll_once(cache.token()).is_pending());
    }
    let runtime = current_thread(true);
    let mut waiting = Box::pin(cache.token());
    {
        let _entered = runtime.enter();
        assert!(waiting.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
        drop(dying);
        // The refresh's task is dropped with its runtime: the waiter is not failed with
        // `Abandoned` but starts a refresh on its own runtime.
        assert!(waiting.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    }
    let token = runtime.block_on(waiting).expect("a token, not Abandoned");
    assert_eq!(secret(&token), "token-1");
    assert_eq!(source.fetches(), 1, "the dropped refresh never fetched");
}

#[test]
fn a_background_refresh_queued_on_an_idle_current_thread_runtime_is_not_fetched_twice() {
    // block_on per call: a call inside the refresh-ahead window queues the background refresh
    // and returns before it runs; the runtime then idles past the token's expiry.
    let runtime = current_thread(false);
    let (clock, source, cache) = fetched_on(&runtime);
    clock.advance(Duration::from_secs(3400));
    assert_eq!(secret(&runtime.block_on(cache.token()).expect("token")), "token-1");
    assert_eq!(source.fetches(), 1, "the refresh is queued, not run");
    clock.advance(Duration::from_secs(600));
    // The queued refresh is overdue on the cache's clock and replaced; when the runtime runs
    // it at last, it must not fetch as well.
    assert_eq!(secret(&runtime.block_on(cache.token()).expect("token")), "token-2");
    runtime.block_on(async {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    });
    assert_eq!(source.fetches(), 2, "one fetch for the expired token");
    assert_eq!(secret(&cache.try_token().expect("fresh")), "token-2");
}

#[test]
fn a_runtime_without_a_time_driver_gets_an_error_not_a_panic() {
    let source = ScriptedSource::new(Some(HOUR), Duration::ZERO);
    let cache = cache(&source);
    let runtime = Builder::new_current_thread().build().expect("runtime");
    let outcome = without_hanging(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(cache.token()).map(|_| ())))
    });
    assert!(matches!(outcome, Ok(Err(Error::Abandoned))), "{outcome:?}");
    assert_eq!(source.fetches(), 0, "no timer, no fetch");
}
