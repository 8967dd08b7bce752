//! The pool helpers under contention, in a test binary of their own: the count of threads waiting
//! awake (`pool::spread_model_passes`) is the process's. Native only: the browser build's
//! threads are tested on the page (tests/e2e/training.test.mjs).
#![cfg(not(target_family = "wasm"))]

use std::sync::mpsc;
use std::time::Duration;

/// Work that splits itself in two on rayon's pool down to `depth`, sleeping at the leaves: the
/// thread that runs it waits inside `rayon::join` for halves other threads took, and takes other
/// jobs of the pool meanwhile — as a piece of a training step does inside Flex's matrix products.
fn nested(depth: u32) -> u64 {
    if depth == 0 {
        std::thread::sleep(Duration::from_micros(200));
        1
    } else {
        let (a, b) = rayon::join(|| nested(depth - 1), || nested(depth - 1));
        a + b
    }
}

#[test]
fn threads_waiting_awake_never_wait_on_a_piece_below_them() {
    // A thread in the middle of its piece, waiting inside a join, may take the job of another
    // piece; if it then waited awake for the update, its own piece (below on its stack) would never
    // end, and neither would the step. Many steps on pools of more threads than pieces and fewer,
    // each within a generous time.
    for threads in [2, 3, 4] {
        let pool = std::sync::Arc::new(rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap());
        for pieces in [2u64, 3, 4] {
            let (tx, rx) = mpsc::channel();
            let pool = pool.clone();
            std::thread::spawn(move || {
                for _ in 0..40 {
                    let total = pool.install(|| {
                        vae_web::pool::pieces_then_waiting(true, (0..pieces).collect(), |_| nested(3), |r| {
                            // The update's passes, on the pool while the others wait awake.
                            r.iter().sum::<u64>() + nested(2)
                        })
                    });
                    tx.send(total).unwrap();
                }
            });
            for step in 0..40 {
                let total = rx
                    .recv_timeout(Duration::from_secs(20))
                    .unwrap_or_else(|_| panic!("{threads} threads, {pieces} pieces: step {step} did not end within 20 s"));
                assert_eq!(total, pieces * 8 + 4);
            }
        }
    }
}
