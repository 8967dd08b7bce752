//! The browser's clock and event loop, for the crate's modules that time work or give way to the
//! worker's other messages (`crate::transfer`).

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// A function of the worker's global scope (or of one of its objects), if there is one.
fn function(owner: &JsValue, name: &str) -> Option<Function> {
    Reflect::get(owner, &name.into()).ok()?.dyn_into::<Function>().ok()
}

/// Resolves in a new task of the event loop (a `setTimeout(0)`), so that the messages queued in
/// the meantime are handled first; at once where there is no `setTimeout`.
pub async fn next_task() {
    let resolved = js_sys::Promise::new(&mut |resolve, _| {
        match function(&js_sys::global(), "setTimeout") {
            Some(set_timeout) => {
                let _ = set_timeout.call2(&JsValue::NULL, &resolve, &0.into());
            }
            None => {
                let _ = resolve.call0(&JsValue::NULL);
            }
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(resolved).await;
}

/// `performance.now()`, or `Date.now()` where there is no `performance`.
pub fn now_ms() -> f64 {
    let now = Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|performance| function(&performance, "now")?.call0(&performance).ok())
        .and_then(|v| v.as_f64());
    now.unwrap_or_else(js_sys::Date::now)
}
