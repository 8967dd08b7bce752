// The same VAE as the page's standard configuration, in TF.js on its WebGPU backend, for
// tests/bench/dispatches.mjs: 784-400-20 MLP (or 784-400-2, `?latent=2`), ReLU, Bernoulli decoder (logits), closed-form KL
// (SGVB-B), L = 1, M = 100, Adam 1e-3, the batch and the noise made on the host and uploaded each
// step, the loss read back once per chunk as the page does. A classic worker: TF.js's UMD builds
// (tf.js, with the gradients, and tf-backend-webgpu.js) are loaded with importScripts, after the benchmark's WebGPU
// counters (counters.js, the same ones it puts in the page's worker).
/* global tf, importScripts */

importScripts('./counters.js');
self.__installCounters();
importScripts('./tf.js', './tf-backend-webgpu.js');

// The latent dimension from the script's address (`vae-worker.js?latent=2`: the page's 2-D model).
const LATENT = Number(new URL(self.location.href).searchParams.get('latent') ?? 20);
const [PIXELS, HIDDEN, M] = [784, 400, 100];

/** Glorot-uniform weights, zero biases. */
function dense(inputs, outputs) {
  const limit = Math.sqrt(6 / (inputs + outputs));
  return { w: tf.variable(tf.randomUniform([inputs, outputs], -limit, limit)), b: tf.variable(tf.zeros([outputs])) };
}
const apply = (layer, x) => tf.add(tf.matMul(x, layer.w), layer.b);

let model;
let optimizer;

function negativeElbo(x, eps) {
  const h = tf.relu(apply(model.hidden, x));
  const mu = apply(model.mu, h);
  const logVar = apply(model.logVar, h);
  const z = tf.add(mu, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps));
  const logits = apply(model.out, tf.relu(apply(model.decoderHidden, z)));
  // −log p(x|z) for Bernoulli logits: softplus(l) − x·l, summed over the pixels.
  const reconstruction = tf.sum(tf.sub(tf.softplus(logits), tf.mul(x, logits)), 1);
  const kl = tf.mul(tf.sum(tf.sub(tf.sub(tf.add(tf.square(mu), tf.exp(logVar)), logVar), 1), 1), 0.5);
  return tf.mean(tf.add(reconstruction, kl));
}

/** A batch of binary pixels and standard normal noise, made on the host as the page does. */
function hostBatch() {
  const x = new Float32Array(M * PIXELS);
  for (let i = 0; i < x.length; i++) x[i] = Math.random() < 0.13 ? 1 : 0;
  const eps = new Float32Array(M * LATENT);
  for (let i = 0; i < eps.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - Math.random()));
    const a = 2 * Math.PI * Math.random();
    eps[i] = r * Math.cos(a);
    eps[i + 1] = r * Math.sin(a);
  }
  return { x, eps };
}

/** `n` steps; the last loss read back once (asynchronously). */
async function trainSteps(n) {
  let loss;
  for (let i = 0; i < n; i++) {
    const { x, eps } = hostBatch();
    loss?.dispose();
    loss = tf.tidy(() => optimizer.minimize(() => negativeElbo(tf.tensor2d(x, [M, PIXELS]), tf.tensor2d(eps, [M, LATENT])), true));
  }
  const value = (await loss.data())[0];
  loss.dispose();
  return value;
}

self.onmessage = async ({ data: { id, type, n } }) => {
  try {
    let result = null;
    if (type === 'ready') {
      if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not start its WebGPU backend');
      await tf.ready();
      model = {
        hidden: dense(PIXELS, HIDDEN),
        mu: dense(HIDDEN, LATENT),
        logVar: dense(HIDDEN, LATENT),
        decoderHidden: dense(LATENT, HIDDEN),
        out: dense(HIDDEN, PIXELS),
      };
      optimizer = tf.train.adam(1e-3);
      result = { backend: tf.getBackend(), version: tf.version.tfjs };
    } else if (type === 'train') {
      const started = performance.now();
      const loss = await trainSteps(n);
      result = { loss, ms: performance.now() - started };
    } else if (type === 'counts') {
      result = { ...self.__gpuCounts };
    }
    postMessage({ id, ok: true, result });
  } catch (error) {
    postMessage({ id, ok: false, error: String(error?.message ?? error) });
  }
};
