//! The facade in a real browser (`wasm-pack test --headless --chrome`), called exactly as the
//! page's worker calls it: a session, `init`, IDX bytes in, promises out.

#![cfg(target_family = "wasm")]

mod common;

use js_sys::{Float32Array, Promise, Reflect, Uint8Array};
use vae_web::config::PIXELS;
use vae_web::idx::{write_idx_images, write_idx_labels};
use vae_web::web::VaeSession;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

// In a dedicated worker, as the page runs the model: the page stays responsive to the test
// runner while a step (or a first WebGPU shader compilation) keeps the worker busy.
wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn config(fields: &[(&str, JsValue)]) -> JsValue {
    let base = serde_json_value();
    for (k, v) in fields {
        Reflect::set(&base, &JsValue::from_str(k), v).unwrap();
    }
    base
}

/// A small model (hidden 64), so the WebGPU tests on a software adapter stay short.
fn serde_json_value() -> JsValue {
    let o = js_sys::Object::new();
    Reflect::set(&o, &"hidden".into(), &js_sys::Array::of1(&JsValue::from(64)).into()).unwrap();
    Reflect::set(&o, &"batchSize".into(), &JsValue::from(20)).unwrap();
    Reflect::set(&o, &"learningRate".into(), &JsValue::from(0.003)).unwrap();
    o.into()
}

async fn resolve(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

fn num(v: &JsValue, field: &str) -> f64 {
    Reflect::get(v, &field.into()).unwrap().as_f64().unwrap_or(f64::NAN)
}

fn floats(v: &JsValue, field: Option<&str>) -> Vec<f32> {
    let v = match field {
        Some(f) => Reflect::get(v, &f.into()).unwrap(),
        None => v.clone(),
    };
    v.dyn_into::<Float32Array>().expect("a Float32Array").to_vec()
}

fn message(e: JsValue) -> String {
    Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_default()
}

/// An error's kind: the `name` of the `Error` the facade rejects with (`VaeError::kind`).
fn kind(e: &JsValue) -> String {
    Reflect::get(e, &"name".into()).ok().and_then(|m| m.as_string()).unwrap_or_default()
}

/// A session on `backend` with a synthetic training set of 200 digits and a test set of 50.
async fn session(backend: &str, fields: &[(&str, JsValue)]) -> VaeSession {
    let s = VaeSession::new(config(fields)).unwrap();
    let info = resolve(s.init(backend.into())).await.unwrap();
    assert_eq!(Reflect::get(&info, &"backend".into()).unwrap().as_string().unwrap(), backend);
    let (tp, tl) = common::synthetic_raw(20, 1);
    let (vp, vl) = common::synthetic_raw(5, 2);
    let counts = resolve(s.load_data(
        write_idx_images(&tp, 28, 28),
        write_idx_labels(&tl),
        write_idx_images(&vp, 28, 28),
        write_idx_labels(&vl),
    ))
    .await
    .unwrap();
    assert_eq!((num(&counts, "train"), num(&counts, "test")), (200.0, 50.0));
    s
}

#[wasm_bindgen_test]
async fn cpu_training_steps_lower_the_loss() {
    let s = session("cpu", &[]).await;
    let first = resolve(s.train_steps(5)).await.unwrap();
    for _ in 0..6 {
        resolve(s.train_steps(20)).await.unwrap();
    }
    let last = resolve(s.train_steps(10)).await.unwrap();
    assert!(num(&last, "loss") < num(&first, "loss") - 5.0, "{} → {}", num(&first, "loss"), num(&last, "loss"));
    assert_eq!(num(&last, "step"), 135.0);
    assert!(num(&last, "examplesPerSecond") > 0.0 && num(&last, "msPerStep") > 0.0);
    // The test bound a piece at a time: null until the last of the 50 test digits, then the bound
    // of the model as it was at the first piece (training in between does not change it).
    assert!(resolve(s.evaluate(20)).await.unwrap().is_null());
    resolve(s.train_steps(5)).await.unwrap();
    assert!(resolve(s.evaluate(20)).await.unwrap().is_null());
    let pieces = resolve(s.evaluate(20)).await.unwrap();
    assert_eq!((num(&pieces, "examples"), num(&pieces, "step")), (50.0, 135.0));
    assert!((num(&pieces, "loss") + num(&pieces, "elbo")).abs() < 1e-9 && num(&pieces, "loss") > 0.0);
    let whole = resolve(s.evaluate(1000)).await.unwrap();
    assert_eq!(num(&whole, "step"), 140.0);
    assert!(num(&whole, "loss") > 0.0);
}

#[wasm_bindgen_test]
async fn the_pieces_of_an_evaluation_add_up_to_the_whole() {
    let s = session("cpu", &[]).await;
    resolve(s.train_steps(5)).await.unwrap();
    let whole = resolve(s.evaluate(50)).await.unwrap();
    let mut pieces = JsValue::NULL;
    for _ in 0..10 {
        pieces = resolve(s.evaluate(7)).await.unwrap();
        if !pieces.is_null() {
            break;
        }
    }
    // Same noise, same digits, summed in another order: equal to float rounding.
    assert!((num(&whole, "loss") - num(&pieces, "loss")).abs() < 1e-4 * num(&whole, "loss"), "{} vs {}", num(&whole, "loss"), num(&pieces, "loss"));
}

#[wasm_bindgen_test]
async fn outputs_have_the_documented_lengths_and_are_finite() {
    let s = session("cpu", &[("latentDim", 3.into())]).await;
    resolve(s.train_steps(3)).await.unwrap();
    let finite_in_unit = |v: &[f32]| v.iter().all(|p| p.is_finite() && (0.0..=1.0).contains(p));

    let r = resolve(s.reconstruct(4)).await.unwrap();
    let (orig, rec) = (floats(&r, Some("originals")), floats(&r, Some("reconstructions")));
    assert_eq!((orig.len(), rec.len()), (4 * PIXELS, 4 * PIXELS));
    assert!(finite_in_unit(&orig) && finite_in_unit(&rec));

    let e = resolve(s.encode(orig.clone(), 4)).await.unwrap();
    let (mu, lv) = (floats(&e, Some("mu")), floats(&e, Some("logVar")));
    assert_eq!((mu.len(), lv.len()), (12, 12));
    assert!(mu.iter().chain(&lv).all(|v| v.is_finite()));

    let t = resolve(s.encode_test(2000)).await.unwrap();
    assert_eq!(floats(&t, Some("mu")).len(), 50 * 3);
    let labels = Reflect::get(&t, &"labels".into()).unwrap().dyn_into::<Uint8Array>().unwrap().to_vec();
    assert_eq!(labels.len(), 50);
    // A class-balanced choice of 20: two of each class, the same digits testImages gives.
    let t20 = resolve(s.encode_test(20)).await.unwrap();
    let l20 = Reflect::get(&t20, &"labels".into()).unwrap().dyn_into::<Uint8Array>().unwrap().to_vec();
    for class in 0..10 {
        assert_eq!(l20.iter().filter(|&&l| l == class).count(), 2, "{l20:?}");
    }
    let images = resolve(s.test_images(20)).await.unwrap();
    let i20 = Reflect::get(&images, &"labels".into()).unwrap().dyn_into::<Uint8Array>().unwrap().to_vec();
    assert_eq!(i20, l20);
    let pixels = floats(&images, Some("images"));
    assert!(pixels.len() == 20 * PIXELS && finite_in_unit(&pixels));
    let again = floats(&resolve(s.encode(pixels, 20)).await.unwrap(), Some("mu"));
    assert_eq!(again, floats(&t20, Some("mu")));

    let d = resolve(s.decode(mu, 4)).await.unwrap();
    assert!(finite_in_unit(&floats(&d, None)) && floats(&d, None).len() == 4 * PIXELS);
    let samples = floats(&resolve(s.sample(6)).await.unwrap(), None);
    assert!(finite_in_unit(&samples) && samples.len() == 6 * PIXELS);
    let again = floats(&resolve(s.sample(6)).await.unwrap(), None);
    assert_ne!(samples, again, "each call should draw fresh samples");
    let q = vae_web::web::manifold_quantiles(4).unwrap().to_vec();
    assert!(q.len() == 4 && q.windows(2).all(|w| w[0] < w[1]) && (q[0] + q[3]).abs() < 1e-6);
    assert!(vae_web::web::manifold_quantiles(0).is_err());

    // Wrong shapes are errors with a message, not panics, and the session keeps working.
    let err = resolve(s.decode(vec![0.0; 5], 2)).await.unwrap_err();
    assert!(message(err).contains("expected 6 values"));
    let err = resolve(s.encode(vec![0.5; PIXELS], 2)).await.unwrap_err();
    assert!(message(err).contains("expected 1568 values"));
    resolve(s.train_steps(1)).await.unwrap();
}

#[wasm_bindgen_test]
async fn concurrent_calls_queue_instead_of_panicking() {
    let s = session("cpu", &[]).await;
    let a = s.train_steps(3);
    let b = s.decode(vec![0.0, 0.0], 1);
    let c = s.train_steps(2);
    let d = s.evaluate(1000);
    let (a, b, c, d) = (resolve(a).await, resolve(b).await, resolve(c).await, resolve(d).await);
    assert_eq!(num(&a.unwrap(), "step"), 3.0);
    assert_eq!(floats(&b.unwrap(), None).len(), PIXELS);
    assert_eq!(num(&c.unwrap(), "step"), 5.0);
    assert!(num(&d.unwrap(), "loss").is_finite());
}

#[wasm_bindgen_test]
async fn bad_input_gets_a_clear_error_and_loses_nothing() {
    // Each error crosses with its kind as the `Error`'s name, which the page decides on.
    let err = VaeSession::new(config(&[("latentDim", 0.into())])).err().unwrap();
    assert_eq!(kind(&err), "Config");
    assert!(message(err).contains("latentDim"));
    let s = session("cpu", &[]).await;
    resolve(s.train_steps(4)).await.unwrap();
    let err = resolve(s.load_data(b"not an idx file".to_vec(), vec![], vec![], vec![])).await.unwrap_err();
    assert_eq!(kind(&err), "Idx");
    assert!(message(err).contains("training set"), "the message names the file");
    let err = resolve(s.reset(config(&[("batchSize", 0.into())]))).await.unwrap_err();
    assert_eq!(kind(&err), "Config");
    assert!(message(err).contains("batchSize"));
    let err = resolve(s.init("tpu".into())).await.unwrap_err();
    assert_eq!(kind(&err), "Argument");
    // Sizes that would overflow are errors, not panics.
    let err = message(resolve(s.decode(vec![], 1 << 31)).await.unwrap_err());
    assert!(err.contains("rows"), "{err}");
    // A config beyond the memory budget is refused, naming the fields.
    let big = config(&[("hidden", js_sys::Array::of4(&4096.into(), &4096.into(), &4096.into(), &4096.into()).into()), ("latentDim", 256.into())]);
    let err = message(resolve(s.reset(big)).await.unwrap_err());
    assert!(err.contains("hidden, batchSize, samples"), "{err}");
    // The model, its step count and the data survived all of it.
    assert_eq!(num(&resolve(s.train_steps(1)).await.unwrap(), "step"), 5.0);
    // A good reset starts over.
    resolve(s.reset(config(&[("latentDim", 4.into())]))).await.unwrap();
    assert_eq!(s.latent_dim(), 4);
    assert_eq!(num(&resolve(s.train_steps(1)).await.unwrap(), "step"), 1.0);
}

#[wasm_bindgen_test]
async fn webgpu_trains_and_agrees_with_the_cpu() {
    // Same config and seed: the same initial weights, batch and noise on both backends (all drawn
    // on the host), so the first step's loss must agree up to float rounding: 1e-3 relative.
    let gpu = session("webgpu", &[]).await;
    let cpu = session("cpu", &[]).await;
    let g = resolve(gpu.train_steps(1)).await.unwrap();
    let c = resolve(cpu.train_steps(1)).await.unwrap();
    for field in ["loss", "reconstruction", "kl"] {
        let (gv, cv) = (num(&g, field), num(&c, field));
        assert!((gv - cv).abs() <= 1e-3 * cv.abs().max(1.0), "{field}: WebGPU {gv} vs CPU {cv}");
    }
    let later = resolve(gpu.train_steps(3)).await.unwrap();
    assert!(num(&later, "loss").is_finite() && num(&later, "loss") < num(&g, "loss"));
    let px = floats(&resolve(gpu.decode(vec![0.5, -0.5], 1)).await.unwrap(), None);
    assert!(px.len() == PIXELS && px.iter().all(|p| p.is_finite()));
}

#[wasm_bindgen_test]
async fn weights_load_on_both_backends_and_bad_bytes_change_nothing() {
    use burn::prelude::Device;
    use vae_web::config::VaeConfig;
    use vae_web::train::Trainer;
    // Weights as `vae train --out` writes them, from a model trained a few steps on Flex.
    let config = VaeConfig { latent_dim: 3, hidden: vec![64], batch_size: 20, ..VaeConfig::default() };
    let data = common::synthetic(2, 5);
    let mut trainer = Trainer::new(config.clone(), &Device::flex(), data.len()).unwrap();
    trainer.train_steps(&data, 3).await.unwrap();
    let bytes = trainer.weights_bytes().await.unwrap();
    let images = data.range(0, 2);
    let (want, _) = vae_web::eval::encode(&trainer.inference_model(), &images, 2, &Device::flex()).await.unwrap();

    for backend in ["cpu", "webgpu"] {
        let s = session(backend, &[]).await;
        resolve(s.train_steps(2)).await.unwrap();
        let config_js = serde_wasm_bindgen::to_value(&config).unwrap();
        // Bad bytes: refused with a message; the session keeps its model (latent 2) and step.
        let err = resolve(s.load_weights(b"nonsense".to_vec(), config_js.clone())).await.unwrap_err();
        assert!(message(err).contains("not a weights file"));
        assert_eq!(s.latent_dim(), 2);
        assert_eq!(num(&resolve(s.train_steps(1)).await.unwrap(), "step"), 3.0);
        // Weights holding a NaN: refused too (8 bytes of 0xff hold at least one NaN float).
        let mut poisoned = bytes.clone();
        let at = poisoned.len() * 3 / 4;
        poisoned[at..at + 8].fill(0xff);
        let err = resolve(s.load_weights(poisoned, config_js.clone())).await.unwrap_err();
        assert!(message(err).contains("NaN"), "{backend}");
        assert_eq!(s.latent_dim(), 2);
        assert_eq!(num(&resolve(s.train_steps(1)).await.unwrap(), "step"), 4.0);
        // Weights with their config: the same encodings as the model that saved them.
        resolve(s.load_weights(bytes.clone(), config_js)).await.unwrap();
        assert_eq!(s.latent_dim(), 3);
        let got = floats(&resolve(s.encode(images.clone(), 2)).await.unwrap(), Some("mu"));
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-4 * w.abs().max(1.0), "{backend}: {got:?} vs {want:?}");
        }
        assert_eq!(num(&resolve(s.train_steps(1)).await.unwrap(), "step"), 1.0);
    }
}

#[wasm_bindgen_test]
async fn the_grid_posterior_is_normalised_and_peaks_where_a_brute_force_search_does() {
    use vae_web::posterior::grid_points;
    let s = session("cpu", &[]).await;
    for _ in 0..5 {
        resolve(s.train_steps(20)).await.unwrap();
    }
    let image = floats(&resolve(s.test_images(1)).await.unwrap(), Some("images"));
    let (side, r) = (32usize, 4.0f64);
    let points = grid_points(side, (-r, r), (-r, r));
    let out = resolve(s.posterior(image.clone(), points.clone(), (side * side) as u32)).await.unwrap();
    let posterior = vae_web::posterior::normalise(&floats(&out, Some("logJoint")));
    let mass: f64 = posterior.iter().map(|&p| p as f64).sum();
    assert!((mass - 1.0).abs() < 1e-3, "mass {mass}");
    let argmax = |v: &[f32]| v.iter().enumerate().fold(0, |best, (i, &x)| if x > v[best] { i } else { best });
    let mode = argmax(&posterior);
    let (mx, my) = (points[2 * mode], points[2 * mode + 1]);

    // Brute force: the log joint on a grid four times finer, maximised.
    let fine_side = 4 * side;
    let fine_points = grid_points(fine_side, (-r, r), (-r, r));
    let fine = resolve(s.posterior(image.clone(), fine_points.clone(), (fine_side * fine_side) as u32)).await.unwrap();
    let best = argmax(&floats(&fine, Some("logJoint")));
    let (bx, by) = (fine_points[2 * best], fine_points[2 * best + 1]);
    let cell = (2.0 * r / side as f64) as f32;
    assert!((bx - mx).abs() <= cell && (by - my).abs() <= cell, "grid mode ({mx}, {my}), brute force ({bx}, {by})");

    let bound = resolve(s.digit_bound(image, 1000)).await.unwrap();
    assert!(num(&bound, "elbo") <= num(&bound, "logLikelihood") + 0.05);
    assert!(num(&bound, "gridLogLikelihood").is_finite());
    // Bad input: an error, not a panic.
    let err = resolve(s.posterior(vec![0.0; 3], points, 2)).await.unwrap_err();
    assert_eq!(kind(&err), "Shape");
    assert!(message(err).contains("image"));
}

/// The bytes of `session`'s run as `checkpoint` saves it (the step it reports checked too).
async fn saved_run(session: &VaeSession, extra: Vec<u8>) -> Vec<u8> {
    let made = resolve(session.checkpoint(extra)).await.unwrap();
    let bytes = Reflect::get(&made, &"bytes".into()).unwrap().dyn_into::<Promise>().unwrap();
    let bytes = resolve(bytes).await.unwrap().dyn_into::<Uint8Array>().unwrap().to_vec();
    let run = vae_web::checkpoint::Checkpoint::from_bytes(&bytes).unwrap();
    assert_eq!(num(&made, "step"), run.step as f64);
    bytes
}

#[wasm_bindgen_test]
async fn a_saved_run_resumes_exactly_on_either_backend_and_bad_files_change_nothing() {
    let a = session("cpu", &[]).await;
    resolve(a.train_steps(20)).await.unwrap();
    let bytes = saved_run(&a, b"{\"chart\":1}".to_vec()).await;
    let mut want = Vec::new();
    for _ in 0..10 {
        want.push(num(&resolve(a.train_steps(1)).await.unwrap(), "loss"));
    }

    let b = session("cpu", &[("latentDim", 4.into())]).await;
    resolve(b.train_steps(3)).await.unwrap();
    // Not a run, or a truncated one: refused, the model in use kept.
    for bad in [b"not a run".to_vec(), bytes[..bytes.len() / 2].to_vec()] {
        let err = resolve(b.resume(bad)).await.unwrap_err();
        assert!(message(err).contains("not a training run"));
        assert_eq!(b.latent_dim(), 4);
    }
    let info = resolve(b.resume(bytes)).await.unwrap();
    assert_eq!(num(&info, "step"), 20.0);
    assert_eq!(b.latent_dim(), 2);
    let extra = Reflect::get(&info, &"extra".into()).unwrap().dyn_into::<Uint8Array>().unwrap().to_vec();
    assert_eq!(extra, b"{\"chart\":1}");
    let mut got = Vec::new();
    for _ in 0..10 {
        got.push(num(&resolve(b.train_steps(1)).await.unwrap(), "loss"));
    }
    assert_eq!(got, want, "steps 21-30 after a resume are those of the run that went on");

    // On WebGPU: saved with asynchronous reads and resumed there, steps 21-30 within 1e-4
    // relative; the same file continues on the CPU too (what a lost GPU needs).
    // The steps are taken while the saved run is still being read back: it is the run as it was.
    let gpu = session("webgpu", &[]).await;
    resolve(gpu.train_steps(20)).await.unwrap();
    let made = resolve(gpu.checkpoint(vec![])).await.unwrap();
    assert_eq!(num(&made, "step"), 20.0);
    let pending = Reflect::get(&made, &"bytes".into()).unwrap().dyn_into::<Promise>().unwrap();
    let mut want = Vec::new();
    for _ in 0..10 {
        want.push(num(&resolve(gpu.train_steps(1)).await.unwrap(), "loss"));
    }
    let bytes = resolve(pending).await.unwrap().dyn_into::<Uint8Array>().unwrap().to_vec();
    assert_eq!(vae_web::checkpoint::Checkpoint::from_bytes(&bytes).unwrap().step, 20);
    for (backend, tolerance) in [("webgpu", 1e-4), ("cpu", 1e-3)] {
        let s = session(backend, &[("latentDim", 4.into())]).await;
        resolve(s.resume(bytes.clone())).await.unwrap();
        for (step, want) in want.iter().enumerate() {
            let got = num(&resolve(s.train_steps(1)).await.unwrap(), "loss");
            assert!(
                ((got - want) / want).abs() <= tolerance,
                "{backend}: step {} after resuming a WebGPU run: {got} vs {want}",
                21 + step
            );
        }
    }
}

/// The largest difference between `got` and `want` in each layer's block of the flat layout, over
/// the largest magnitude in `want`'s block.
fn relative_errors(got: &[f32], want: &[f32], layout: &vae_web::kernels::Layout) -> Vec<f64> {
    let blocks = layout.encoder.iter().chain([&layout.heads]).chain(&layout.decoder).chain([&layout.out]);
    blocks
        .map(|b| {
            let n = (b.d_in + 1) * b.d_out;
            let (g, w) = (&got[b.offset..b.offset + n], &want[b.offset..b.offset + n]);
            let scale = w.iter().fold(0f32, |a, v| a.max(v.abs())) as f64;
            let diff = g.iter().zip(w).fold(0f32, |a, (g, w)| a.max((g - w).abs())) as f64;
            diff / scale.max(1e-30)
        })
        .collect()
}

#[wasm_bindgen_test]
async fn the_kernel_step_computes_the_gradients_and_the_update_burn_does_on_webgpu_and_the_cpu() {
    use burn::optim::GradientsParams;
    use burn::prelude::Device;
    use rand::SeedableRng;
    use vae_web::config::{Activation, VaeConfig};
    use burn::module::Module;
    use vae_web::eval::EvaluationRun;
    use vae_web::kernels::{self, FlatRun, Layout};
    use vae_web::loss::negative_elbo;
    use vae_web::model::Vae;
    use vae_web::optim::optimizer;
    use vae_web::transfer::{read_values, standard_normal, tensor2, HostRng};

    // The facade's first call runs the module's static constructors (cubecl's registrations).
    vae_web::web::config_schema().unwrap();
    let gpu = vae_web::device::browser_webgpu().await.expect("the test browser has a WebGPU adapter");
    let m = 20;
    let configs = [
        VaeConfig { latent_dim: 3, hidden: vec![64], batch_size: m, beta: 0.7, ..VaeConfig::default() },
        VaeConfig { latent_dim: 5, hidden: vec![48, 32], batch_size: m, activation: Activation::Tanh, weight_decay: 1e-3, ..VaeConfig::default() },
    ];
    for config in configs {
        assert!(kernels::applies(&config, &gpu.device));
        let d = config.latent_dim;
        let what = format!("{:?} {:?}", config.activation, config.hidden);
        // Grey levels in [0, 1], and noise of both signs.
        let x: Vec<f32> = (0..m * PIXELS).map(|i| ((i * 37) % 11) as f32 / 10.0).collect();
        let eps = standard_normal(&mut HostRng::seed_from_u64(8), m * d);
        let model_on = |device: &Device| Vae::new(&config, &mut HostRng::seed_from_u64(7), &device.clone().autodiff());
        let layout = Layout::new(&config);

        // The gradients, against Burn's operations and autodiff on WebGPU and on the CPU.
        let model = model_on(&gpu.device);
        let run = FlatRun::pack(&model, &optimizer(&config), &config);
        let (ours, our_parts) = kernels::gradients(&run, &x, &eps, &config);
        let mut wanted = Vec::new();
        for device in [gpu.device.clone(), Device::flex()] {
            let model = model_on(&device);
            let autodiff = device.clone().autodiff();
            let (grads, parts) = kernels::burn_gradients(&model, tensor2(x.clone(), m, PIXELS, &autodiff), tensor2(eps.clone(), m, d, &autodiff), &config);
            wanted.push((device, grads, parts));
        }
        let ours = read_values(ours).await.unwrap();
        let our_loss = read_values(our_parts.loss).await.unwrap()[0];
        assert_eq!(ours.len(), layout.len);
        for (device, grads, parts) in wanted {
            let want = read_values(grads).await.unwrap();
            let errors = relative_errors(&ours, &want, &layout);
            console_log!("{what}, gradients against {device:?}: relative errors by layer {errors:?}");
            assert!(errors.iter().all(|e| *e <= 1e-4), "{what}, against {device:?}: relative errors by layer {errors:?}");
            let loss = read_values(parts.loss).await.unwrap()[0];
            assert!(((our_loss - loss) / loss).abs() <= 1e-5, "{what}, against {device:?}: loss {our_loss} vs {loss}");
        }

        // The forward pass alone (the test bound's pieces): the same loss parts.
        let (_, burn_parts) = kernels::burn_gradients(&model, tensor2(x.clone(), m, PIXELS, &gpu.device.clone().autodiff()), tensor2(eps.clone(), m, d, &gpu.device.clone().autodiff()), &config);
        let forward = kernels::loss(&run, &x, &eps, &config);
        for (ours, theirs) in [(forward.reconstruction, burn_parts.reconstruction), (forward.kl, burn_parts.kl)] {
            let (ours, theirs) = (read_values(ours).await.unwrap()[0], read_values(theirs).await.unwrap()[0]);
            assert!(((ours - theirs) / theirs).abs() <= 1e-5, "{what}, the forward pass alone: {ours} vs {theirs}");
        }
        // And a whole test bound evaluated in the kernels, as Burn's operations evaluate it.
        let test = common::synthetic(3, 40);
        let mut bounds = Vec::new();
        for mut run in [EvaluationRun::in_kernels(run.clone(), &config, &gpu.device, 11), EvaluationRun::new(model.valid(), &config, &gpu.device, 11)] {
            while run.advance(&test, 25) {}
            bounds.push(run.finish().await.unwrap());
        }
        let (a, b) = (bounds[0], bounds[1]);
        assert_eq!(a.examples, test.len());
        assert!(((a.loss - b.loss) / b.loss).abs() <= 1e-5 && ((a.kl - b.kl) / b.kl).abs() <= 1e-5, "{what}: the bound in our kernels {a:?}, by Burn's operations {b:?}");

        // A whole step (Adam, with weight decay in the second config): the parameters and both
        // moments after it, against Burn's Adam on WebGPU.
        let (next, _) = kernels::step(&run, &x, &eps, &config);
        let autodiff = gpu.device.clone().autodiff();
        let parts = negative_elbo(&model, tensor2(x.clone(), m, PIXELS, &autodiff), tensor2(eps.clone(), m, d, &autodiff), &config);
        let grads = GradientsParams::from_grads(parts.loss.backward(), &model);
        let mut optim = optimizer(&config);
        let stepped = optim.step(config.learning_rate, model.clone(), grads);
        let want = read_values(FlatRun::pack(&stepped, &optim, &config).state).await.unwrap();
        let got = read_values(next.state).await.unwrap();
        assert_eq!(next.time, 1);
        for (k, part) in ["parameters", "first moments", "second moments"].iter().enumerate() {
            let range = k * layout.len..(k + 1) * layout.len;
            let errors = relative_errors(&got[range.clone()], &want[range], &layout);
            console_log!("{what}, {part} after a step: relative errors by layer {errors:?}");
            assert!(errors.iter().all(|e| *e <= 1e-4), "{what}, {part} after a step: relative errors by layer {errors:?}");
        }
    }
}
