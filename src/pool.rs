//! Work on rayon's pool of threads: natively, and in the threaded browser build (a pool of Web
//! Workers); one thread after another in the single-threaded browser build, which has no pool.
//! A training step's pieces and the passes over the whole model that follow them
//! ([`crate::train::Trainer::set_threads`]), and the test bound's pieces, go through here.

/// Values per slice when an element-wise pass over a parameter is spread over the pool.
pub const SLICE: usize = 16 * 1024;

#[cfg(any(not(target_family = "wasm"), feature = "threads"))]
pub use threaded::{map_on_threads, on_pool, pieces_then, pieces_then_waiting, spread_model_passes};

#[cfg(all(target_family = "wasm", not(feature = "threads")))]
pub use serial::{map_on_threads, on_pool, pieces_then, spread_model_passes};

#[cfg(any(not(target_family = "wasm"), feature = "threads"))]
mod threaded {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;

    use rayon::prelude::*;

    /// Whether a pool thread that finished its piece of a step waits awake for the work that
    /// follows ([`pieces_then`]). Only in the browser, where waking a thread costs a fraction of a
    /// millisecond: natively a sleeping thread wakes within microseconds, and two threads sharing
    /// the update are slower than one (docs/benchmarks.md).
    const WAIT_AWAKE: bool = cfg!(target_family = "wasm");

    /// Pool threads that finished their piece of a step and wait, awake, for the work that follows
    /// it (see [`pieces_then`]).
    static WAITING_AWAKE: AtomicUsize = AtomicUsize::new(0);

    /// `f` applied to each of `items`, each on a thread of rayon's pool; the results in order.
    pub fn map_on_threads<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
        items.into_par_iter().map(f).collect()
    }

    /// `f`, run on a thread of rayon's pool, the caller waiting for it. Work that `f` spreads over
    /// the pool then starts on a pool thread that is already awake, instead of being handed over
    /// and back each time.
    pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
        rayon::scope(|_| f())
    }

    /// Whether element-wise passes over the whole model (the sum of a step's pieces' gradients,
    /// Adam's update) are worth spreading over the pool: with more than two threads, or while
    /// another thread waits awake for work ([`pieces_then`]). With two threads otherwise asleep,
    /// waking the other cost more than half of the update it would share (measured in the
    /// browser); with 16 threads the serial sums of 16 pieces' gradients held the step back
    /// (`vae --threads 16` slower than `--threads 4`, docs/benchmarks.md).
    pub fn spread_model_passes() -> bool {
        rayon::current_num_threads() > 2 || WAITING_AWAKE.load(Ordering::SeqCst) > 0
    }

    /// Sets its flag when dropped: also when the work it guards panics, so that the threads
    /// waiting for the flag stop and the panic reaches the caller.
    struct SetOnDrop<'a>(&'a AtomicBool);

    impl Drop for SetOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// Adds one to a count when dropped: an item counts as finished also when it panicked, so
    /// that the caller stops waiting for it (and finds its result missing).
    struct AddOnDrop<'a>(&'a AtomicUsize);

    impl Drop for AddOnDrop<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Counts a thread in [`WAITING_AWAKE`] while it lives.
    struct Awake;

    impl Awake {
        fn new() -> Self {
            WAITING_AWAKE.fetch_add(1, Ordering::SeqCst);
            Awake
        }
    }

    impl Drop for Awake {
        fn drop(&mut self) {
            WAITING_AWAKE.fetch_sub(1, Ordering::SeqCst);
        }
    }

    thread_local! {
        /// Whether this thread is running an item of [`pieces_then`] (perhaps further down its
        /// stack, below a job it took while waiting inside the item).
        static IN_ITEM: Cell<bool> = const { Cell::new(false) };
    }

    /// Marks this thread as running an item while it lives; puts back what was there before.
    struct InItem(bool);

    impl InItem {
        fn enter() -> Self {
            InItem(IN_ITEM.replace(true))
        }
    }

    impl Drop for InItem {
        fn drop(&mut self) {
            IN_ITEM.set(self.0);
        }
    }

    /// How long a thread that finished its item waits awake for the others' before it gives up
    /// and lets the pool put it to sleep. The items of a step end within a millisecond of each
    /// other; the bound is what keeps a step going where the wait would hold it up (see
    /// [`wait_for_then`]).
    const PATIENCE_MS: f64 = 2.0;

    /// Runs a job of the pool if there is one, else pauses a moment.
    fn help() {
        if rayon::yield_now() != Some(rayon::Yield::Executed) {
            std::hint::spin_loop();
        }
    }

    /// Takes work from the pool until `done`. A thread waiting here may be above, on its own
    /// stack, part of another item's work that it took while waiting inside its own (a half of a
    /// matrix product): that item cannot end until this returns. So it waits for the items only
    /// [`PATIENCE_MS`], and once they have all ended (nothing of them can be below then, and
    /// nothing of `then`, which started after this thread took its item), for `then` as long as
    /// it takes.
    fn wait_for_then(finished: &AtomicUsize, items: usize, done: &AtomicBool) {
        let since = crate::transfer::now_ms();
        while !done.load(Ordering::SeqCst) {
            if finished.load(Ordering::SeqCst) < items && crate::transfer::now_ms() - since > PATIENCE_MS {
                return;
            }
            help();
        }
    }

    /// `f` applied to each of `items` on the threads of rayon's pool (the first on this thread),
    /// then `then` of the results in order, on this thread. In the browser, each thread that took
    /// an item other than the first stays awake until `then` returns, taking work from the pool as
    /// it comes (the passes `then` spreads, see [`spread_model_passes`]): a sleeping thread would
    /// otherwise have to be woken for them, which in the browser costs a good part of what it would
    /// share. An item no other thread has started by the time this thread is free is run here, so
    /// this ends however busy the pool is.
    pub fn pieces_then<T: Send, R: Send, O: Send>(
        items: Vec<T>,
        f: impl Fn(T) -> R + Sync,
        then: impl FnOnce(Vec<R>) -> O + Send,
    ) -> O {
        pieces_then_waiting(WAIT_AWAKE, items, f, then)
    }

    /// [`pieces_then`], the threads that took an item waiting awake for `then` or not, whatever
    /// the target (to test the waiting natively).
    pub fn pieces_then_waiting<T: Send, R: Send, O: Send>(
        wait_awake: bool,
        items: Vec<T>,
        f: impl Fn(T) -> R + Sync,
        then: impl FnOnce(Vec<R>) -> O + Send,
    ) -> O {
        let n = items.len();
        let items: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
        let results: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
        let finished = AtomicUsize::new(0);
        let done = AtomicBool::new(false);
        // Runs item k unless a thread already took it. With `awake`, this thread is counted as
        // waiting awake from before the item ends (so that `then` already sees it) until the
        // returned guard drops; `None` where it did not run the item or is not to wait.
        let run = |k: usize, awake: bool| -> Option<Awake> {
            let item = items[k].lock().expect("an item's lock is never poisoned").take()?;
            let awake = awake.then(Awake::new);
            let _finished = AddOnDrop(&finished);
            let _in_item = InItem::enter();
            let result = f(item);
            *results[k].lock().expect("a result's lock is never poisoned") = Some(result);
            awake
        };
        rayon::scope(|scope| {
            let owner = rayon::current_thread_index();
            for k in 1..n {
                let (run, finished, done) = (&run, &finished, &done);
                scope.spawn(move |_| {
                    // Not a thread in the middle of an item of its own: that item would wait for it.
                    let awake = wait_awake && rayon::current_thread_index() != owner && !IN_ITEM.get();
                    if let Some(_awake) = run(k, awake) {
                        wait_for_then(finished, n, done);
                    }
                });
            }
            for k in 0..n {
                run(k, false);
            }
            while finished.load(Ordering::SeqCst) < n {
                help();
            }
            let results = results
                .iter()
                .map(|r| r.lock().expect("a result's lock is never poisoned").take().expect("every item ran"))
                .collect();
            let _done = SetOnDrop(&done);
            then(results)
        })
    }
}

/// The same calls without a pool: everything on this thread, in order.
#[cfg(all(target_family = "wasm", not(feature = "threads")))]
mod serial {
    pub fn map_on_threads<T, R>(items: Vec<T>, f: impl Fn(T) -> R) -> Vec<R> {
        items.into_iter().map(f).collect()
    }

    pub fn on_pool<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    pub fn spread_model_passes() -> bool {
        false
    }

    pub fn pieces_then<T, R, O>(items: Vec<T>, f: impl Fn(T) -> R, then: impl FnOnce(Vec<R>) -> O) -> O {
        then(items.into_iter().map(f).collect())
    }
}
