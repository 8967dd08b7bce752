// The explorer's markup: built once inside the element the page gives it, and returned as named
// references (`data-ref`), grouped by the feature (`data-part`) whose controller owns them.
// Stable `data-testid`s are the end-to-end tests' handles (tests/e2e/explorer.test.mjs); the
// page's code never selects by them. The text is in MNIST's words; what speaks of the data is
// marked `data-words` and said in the data's own (www/words.js's reword: "image" for "digit" on a
// visitor's images), `data-words="attributes"` where only the title and aria-label do.

import { MAX_FILE_BYTES, MAX_SIDE } from './image-input.js';

const MANIFOLD_N = { min: 5, max: 25, value: 15 };

const HTML = /* html */ `
<div class="vx">
  <h2>Explore what it has learned <span class="hint">live, while it trains</span></h2>
  <p class="vx-status" data-ref="status" data-testid="explorer-status" role="status">Waiting for the model…</p>

  <article class="vx-card vx-latent" data-part="plane">
    <header class="vx-head">
      <h3>Latent space</h3>
      <p class="vx-sub" data-words>Each dot is a test digit's encoding μ, coloured by its label, redrawn as the model learns.
        Drag the handle (or click anywhere, or focus it and press the arrow keys) and the decoder draws the digit at that point z.
        Click a dot to select that test digit (with the keyboard: Enter on the handle selects the nearest one).</p>
    </header>
    <div class="vx-latent-body">
      <div class="vx-plane" data-ref="plane" data-testid="latent-plane">
        <canvas class="vx-plane-base" data-ref="planeBase" data-testid="latent-plane-image" role="img"
                aria-label="The latent plane, waiting for the model"></canvas>
        <!-- The overlay is the same picture's top layer (selection, markers, path): the base's label describes both. -->
        <canvas class="vx-plane-overlay" data-ref="planeOverlay" aria-hidden="true"></canvas>
        <div class="vx-handle" data-ref="handle" data-testid="latent-handle" tabindex="0" role="application"
             aria-roledescription="2-D slider" aria-label="Latent point z" aria-describedby="vx-coords vx-handle-keys"></div>
      </div>
      <p class="vx-visually-hidden" id="vx-handle-keys" data-words>Arrow keys move it, Shift with an arrow moves it five times as far,
        Home brings it back to the origin, Enter selects the test digit nearest to it.</p>
      <p class="vx-visually-hidden" data-ref="spoken" data-testid="latent-spoken" aria-live="polite"></p>
      <div class="vx-side">
        <figure class="vx-decoded">
          <canvas class="vx-digit vx-digit-xl" width="28" height="28" data-ref="decoded" data-testid="decoded-digit"
                  role="img" aria-label="The digit decoded from the handle's z" data-words></canvas>
          <figcaption>
            <span class="vx-coords" id="vx-coords" data-ref="coords" data-testid="latent-coords">z = (0.00, 0.00)</span>
            <span class="vx-ms" data-ref="decodeMs" data-testid="decode-ms" title="Round trip from the pointer move to the drawn digit" data-words="attributes">decode – ms</span>
          </figcaption>
        </figure>
        <ul class="vx-legend" data-ref="legend" data-testid="latent-legend" aria-label="Colours of the digits" data-words="attributes"></ul>
        <div class="vx-selected" data-ref="selected" data-testid="selected-digit" hidden>
          <canvas class="vx-digit vx-digit-s" width="28" height="28" data-ref="selectedImage" data-testid="selected-image"
                  role="img" aria-label="The selected test digit" data-words></canvas>
          <div>
            <p data-ref="selectedText"></p>
            <p class="vx-buttons">
              <button type="button" data-ref="selectedA" data-testid="selected-set-a">Set as A</button>
              <button type="button" data-ref="selectedB" data-testid="selected-set-b">Set as B</button>
              <button type="button" data-ref="selectedClear" title="Deselect" aria-label="Deselect the test digit" data-words>×</button>
            </p>
          </div>
        </div>
        <section class="vx-posterior" data-part="posterior" data-ref="panel" data-testid="posterior-panel" aria-live="polite" hidden>
          <h4>The true posterior</h4>
          <p class="vx-posterior-of" data-ref="caption"></p>
          <ul class="vx-key">
            <li><span class="vx-key-heat"></span>p(z|x) ∝ p(x|z) p(z), the decoder's answer to “which z made this x?”</li>
            <li><span class="vx-key-line"></span><span class="vx-key-line vx-key-dashed"></span>where it holds 39 % and 86 % of its mass</li>
            <li><span class="vx-key-q"></span><span class="vx-key-q vx-key-dashed"></span>the encoder's guess q(z|x) at 1σ and 2σ (39 % and 86 % of q)</li>
          </ul>
          <dl class="vx-numbers" data-ref="numbers" data-testid="posterior-numbers">
            <dt>ELBO</dt><dd data-ref="elbo">…</dd>
            <dt data-ref="isLabel">log p(x), importance sampling</dt><dd data-ref="logLikelihood">…</dd>
            <dt>log p(x), integrated on a grid</dt><dd data-ref="gridLogLikelihood">…</dd>
            <dt>log p(x) − ELBO = KL(q ‖ p(z|x))</dt><dd data-ref="gap">…</dd>
          </dl>
          <p class="vx-note" data-words>The gap: how far the encoder's guess is from the truth. All in nats, for this digit.</p>
        </section>
        <section class="vx-posterior" data-part="posterior" data-ref="holesPanel" data-testid="holes-panel" hidden>
          <h4>Where the prior has holes</h4>
          <ul class="vx-key">
            <li data-words><span class="vx-key-below"></span>the prior N(0, I) has mass but the test digits' encodings, q(z) = mean of their q(z|x), have little: a z drawn there decodes to something the decoder was rarely trained on</li>
            <li><span class="vx-key-above"></span>the encodings are denser than the prior</li>
            <li><span class="vx-key-line vx-key-dashed vx-key-grey"></span>the prior's 1σ and 2σ circles</li>
          </ul>
          <p class="vx-note" data-ref="holesText" data-testid="holes-share"></p>
        </section>
      </div>
    </div>
    <div class="vx-controls">
      <label><input type="checkbox" data-ref="ellipses" data-testid="show-ellipses"> posteriors as ellipses μ ± σ</label>
      <label><input type="checkbox" data-ref="fixedAxes" data-testid="fixed-axes"> fixed axes ±3</label>
      <label title="A fixed, class-balanced choice of the 10,000 test digits: fewer keep the plane smooth on a slow machine" data-words>
        <select data-ref="planeDigits" data-testid="plane-digits" aria-label="Test digits on the plane" data-words="attributes">
          <option value="500">500</option><option value="1000">1,000</option><option value="2000" selected>2,000</option><option value="5000">5,000</option><option value="10000">all 10,000</option>
        </select> test digits</label>
      <span class="vx-controls-group" data-part="posterior">
        <label title="The decoder's posterior over z for one digit, on a grid over the plane, beside the encoder's guess" data-words="attributes">
          <input type="checkbox" data-ref="show" data-testid="show-posterior"> true posterior</label>
        <label data-words>of <select data-ref="source" data-testid="posterior-source" aria-label="Whose posterior">
          <option value="test">the selected test digit</option><option value="upload">your upload</option><option value="drawing">your drawing</option>
        </select></label>
        <label><input type="checkbox" data-ref="zoom" data-testid="posterior-zoom" checked> zoom in on it</label>
        <label title="The test digits' encodings, all together, against the prior N(0, I)" data-words="attributes">
          <input type="checkbox" data-ref="holes" data-testid="show-holes"> where the prior has holes</label>
      </span>
    </div>
    <div class="vx-slice" data-ref="slice" data-testid="slice-dims" hidden>
      <label>horizontal <select data-ref="dimX" data-testid="slice-x"></select></label>
      <label>vertical <select data-ref="dimY" data-testid="slice-y"></select></label>
      <label><input type="checkbox" data-ref="pca" data-testid="slice-pca"> principal axes of the test encodings</label>
      <p class="vx-note" data-ref="sliceNote"></p>
    </div>
  </article>

  <article class="vx-card vx-yours" data-part="yours">
    <header class="vx-head" data-words>
      <h3>Your digit</h3>
      <p class="vx-sub">Upload or draw a digit: it is made into an MNIST-style image (grey, inverted if on a light background,
        cropped, scaled to fit 20×20 px, centred by its centre of mass in 28×28), encoded, and shown on the plane.</p>
    </header>
    <div class="vx-yours-body">
      <section class="vx-upload" data-ref="dropZone" aria-label="Upload a digit image" data-words="attributes">
        <h4>Upload</h4>
        <label class="vx-drop">
          <input type="file" accept="image/*" class="vx-visually-hidden" data-ref="file" data-testid="upload-input">
          <span class="vx-drop-button">Choose an image</span>
          <span class="vx-drop-text">or drop one anywhere on the page, or paste one (Ctrl+V).
            Any format the browser reads, up to ${MAX_FILE_BYTES / 2 ** 20} MB and ${MAX_SIDE} px on a side.</span>
        </label>
        <p class="vx-error" data-ref="uploadError" data-testid="upload-error" role="alert" hidden></p>
        <div class="vx-row">
          <figure><canvas class="vx-original" width="140" height="140" data-ref="uploadOriginal" data-testid="upload-original"
            role="img" aria-label="Your image: none uploaded yet"></canvas><figcaption>original</figcaption></figure>
          <figure><canvas class="vx-digit vx-digit-m" width="28" height="28" data-ref="uploadProcessed" data-testid="upload-processed"
            role="img" aria-label="Your image as the model's 28×28 input: none yet"></canvas><figcaption>28×28 input</figcaption></figure>
          <figure><canvas class="vx-digit vx-digit-m" width="28" height="28" data-ref="uploadRecon" data-testid="upload-reconstruction"
            role="img" aria-label="The model's reconstruction of your image: none yet"></canvas><figcaption>reconstruction</figcaption></figure>
        </div>
        <p class="vx-mu" data-ref="uploadMu" data-testid="upload-mu">μ: –</p>
        <p class="vx-buttons">
          <button type="button" data-ref="uploadA" data-testid="upload-set-a" disabled>Set as A</button>
          <button type="button" data-ref="uploadB" data-testid="upload-set-b" disabled>Set as B</button>
        </p>
      </section>
      <section class="vx-draw" aria-label="Draw a digit" data-words="attributes">
        <h4>Draw</h4>
        <div class="vx-row">
          <canvas class="vx-pad" width="280" height="280" data-ref="pad" data-testid="draw-pad" role="img"
                  aria-label="Drawing pad, for a mouse, a pen or a finger only: without one, upload an image of a digit instead" data-words="attributes"
                  aria-describedby="vx-pad-note"></canvas>
          <div class="vx-col">
            <figure><canvas class="vx-digit vx-digit-m" width="28" height="28" data-ref="drawProcessed" data-testid="draw-processed"
              role="img" aria-label="Your drawing as the model's 28×28 input: nothing drawn yet"></canvas><figcaption>28×28 input</figcaption></figure>
            <figure><canvas class="vx-digit vx-digit-m" width="28" height="28" data-ref="drawRecon" data-testid="draw-reconstruction"
              role="img" aria-label="The model's reconstruction of your drawing: nothing drawn yet"></canvas><figcaption>reconstruction</figcaption></figure>
          </div>
        </div>
        <p class="vx-note" id="vx-pad-note" data-words>Drawing needs a pointer; from the keyboard, upload an image instead, or select a test digit with the plane's handle.</p>
        <p class="vx-mu" data-ref="drawMu" data-testid="draw-mu">μ: –</p>
        <p class="vx-buttons">
          <button type="button" data-ref="drawClear" data-testid="draw-clear">Clear</button>
          <button type="button" data-ref="drawA" data-testid="draw-set-a" disabled>Set as A</button>
          <button type="button" data-ref="drawB" data-testid="draw-set-b" disabled>Set as B</button>
        </p>
      </section>
    </div>
  </article>

  <article class="vx-card vx-interp" data-part="interpolation">
    <header class="vx-head">
      <h3>Interpolation</h3>
      <p class="vx-sub" data-words>Ten digits decoded along the straight line from μ<sub>A</sub> to μ<sub>B</sub>, or along the great circle
        through them (slerp, as White recommends in “Sampling Generative Networks”, 2016: in many dimensions the prior's mass lies
        near a sphere, and the straight line cuts through its empty middle).
        Pick A and B with the “Set as” buttons: an upload, a drawing, or a test digit selected on the plane.</p>
      <label class="vx-toggle"><input type="checkbox" data-ref="slerp" data-testid="interp-slerp"> spherical (slerp)</label>
    </header>
    <div class="vx-interp-body">
      <figure><canvas class="vx-digit vx-digit-m" width="28" height="28" data-ref="interpA" data-testid="interp-a"
        role="img" aria-label="End A: not set"></canvas><figcaption data-ref="interpAText">A: –</figcaption></figure>
      <div class="vx-strip-box">
        <canvas class="vx-strip" data-ref="strip" data-testid="interpolation" width="298" height="28" hidden
          role="img" aria-label="Ten digits decoded along the path from A to B" data-words></canvas>
        <p class="vx-strip-empty" data-ref="stripEmpty">Set A and B to see the path between them.</p>
      </div>
      <figure><canvas class="vx-digit vx-digit-m" width="28" height="28" data-ref="interpB" data-testid="interp-b"
        role="img" aria-label="End B: not set"></canvas><figcaption data-ref="interpBText">B: –</figcaption></figure>
    </div>
  </article>

  <article class="vx-card vx-repair" data-part="repair" data-testid="repair">
    <header class="vx-head" data-words>
      <h3>Repair a digit</h3>
      <p class="vx-sub">What p(x) is for: hide part of a digit, flip its pixels or blur it, and the model infers what it was,
        p(x | y) = ∫ p(x | z, y) p(z | y) dz with p(z | y) ∝ p(y | z) p(z), the observation y scored by the decoder's own
        pixel probabilities. Paint on the seen digit to hide more of it (with a pointer; from the keyboard, pick what is hidden
        under “Seen through”).</p>
    </header>
    <div class="vx-repair-controls">
      <label data-words>Digit <select data-ref="source" data-testid="repair-source">
        <option value="test">the test digit selected on the plane (else the first)</option>
        <option value="drawing">your drawing</option>
        <option value="upload">your upload</option>
      </select></label>
      <label>Seen through <select data-ref="corruption" data-testid="repair-corruption">
        <option value="bottomHalf">the top half only (bottom half missing)</option>
        <option value="topHalf">the bottom half only</option>
        <option value="leftHalf">the right half only</option>
        <option value="rightHalf">the left half only</option>
        <option value="centreSquare">a hole in the middle (14×14)</option>
        <option value="random50">50 % of the pixels, at random</option>
        <option value="random80">20 % of the pixels (80 % missing)</option>
        <option value="random90">10 % of the pixels (90 % missing)</option>
        <option value="brush">only what you do not paint over</option>
        <option value="flip">every pixel, 20 % of them flipped</option>
        <option value="noise">every pixel, with Gaussian noise σ = 0.3</option>
        <option value="low7">a 7×7 copy (4×4 block means)</option>
        <option value="low14">a 14×14 copy (2×2 block means)</option>
      </select></label>
      <label>Inferred by <select data-ref="method" data-testid="repair-method">
        <option value="grid" title="p(z|y) on a 64×64 grid of the plane: the model's exact answer">exact, on a grid (2-D models)</option>
        <option value="importanceSampling" title="1,000 draws from the encoder's guess, weighted by p(y|z)p(z)/q(z): Mattei &amp; Frellsen 2019">importance sampling</option>
        <option value="metropolisWithinGibbs" title="a chain that proposes z from the encoder and accepts by the exact ratio: Mattei &amp; Frellsen 2018">Metropolis-within-Gibbs</option>
        <option value="pseudoGibbs" title="the classic baseline: encode the completed digit, decode, repeat; exact only if the encoder were" data-words="attributes">pseudo-Gibbs</option>
      </select></label>
    </div>
    <div class="vx-repair-body">
      <figure><canvas class="vx-digit vx-digit-m vx-brush" width="28" height="28" data-ref="observed" data-testid="repair-observed"
        role="img" aria-label="The digit as seen: hidden pixels in blue" data-words></canvas><figcaption>seen (y)</figcaption></figure>
      <figure><canvas class="vx-digit vx-digit-m" width="28" height="28" data-ref="repaired" data-testid="repair-mean"
        role="img" aria-label="The repaired digit, E[x | y]" data-words></canvas><figcaption>repaired, E[x | y]</figcaption></figure>
      <figure><canvas class="vx-digit vx-digit-m" width="28" height="28" data-ref="spread" data-testid="repair-spread"
        role="img" aria-label="Where the plausible repairs disagree"></canvas><figcaption>uncertainty</figcaption></figure>
      <figure><canvas class="vx-digit vx-digit-m" width="28" height="28" data-ref="truth" data-testid="repair-truth"
        role="img" aria-label="The digit itself" data-words></canvas><figcaption data-words>the digit itself</figcaption></figure>
      <figure><canvas class="vx-repair-latent" width="176" height="176" data-ref="latent" data-testid="repair-latent"
        role="img" aria-label="Where z is: nothing repaired yet"></canvas><figcaption>where z is: p(z | y), q(z | x̃) (ring), draws</figcaption></figure>
      <dl class="vx-numbers" data-ref="numbers" data-testid="repair-numbers">
        <dt title="How probable what was seen is under the model">log p(y)</dt><dd data-ref="evidence">–</dd>
        <dt data-ref="qualityName">effective samples</dt><dd data-ref="quality">–</dd>
        <dt data-words="attributes" title="Mean squared error of the repaired digit against the digit itself, on the pixels it had to infer (all of them under flips, noise and low resolution)">error (MSE)</dt><dd data-ref="mse">–</dd>
        <dt>time</dt><dd data-ref="ms">–</dd>
      </dl>
    </div>
    <figure class="vx-strip-box"><canvas class="vx-strip" data-ref="imputations" data-testid="repair-imputations" width="298" height="28"
      role="img" aria-label="Eight repairs drawn from p(x | y)"></canvas><figcaption>eight repairs drawn from p(x | y), not copies of the mean</figcaption></figure>
    <p class="vx-sub" data-ref="note" data-testid="repair-note" aria-live="polite"></p>
  </article>

  <div class="vx-pair" data-part="grids">
    <article class="vx-card vx-manifold">
      <header class="vx-head">
        <h3>Learned manifold</h3>
        <p class="vx-sub" data-ref="manifoldNote">The decoder's output over an n×n grid of z, evenly spaced in probability under the prior
          (z = Φ⁻¹ of a uniform grid), as in the paper's figure 4.</p>
      </header>
      <label class="vx-range">n = <output data-ref="manifoldNOut">${MANIFOLD_N.value}</output>
        <input type="range" min="${MANIFOLD_N.min}" max="${MANIFOLD_N.max}" value="${MANIFOLD_N.value}" data-ref="manifoldN" data-testid="manifold-n"
               aria-label="Manifold grid size n"></label>
      <canvas class="vx-grid" data-ref="manifold" data-testid="manifold" role="img"
        aria-label="The learned manifold: not drawn yet"></canvas>
    </article>
    <article class="vx-card vx-samples">
      <header class="vx-head">
        <h3>Samples from the prior</h3>
        <p class="vx-sub" data-words>Digits decoded from z ~ N(0, I), as in the paper's figure 5. The same z stay until you ask for new ones,
          so you can watch them sharpen as the model learns.</p>
      </header>
      <p class="vx-buttons"><button type="button" data-ref="newSamples" data-testid="new-samples">New samples</button></p>
      <canvas class="vx-grid" data-ref="samples" data-testid="samples" role="img"
        aria-label="Samples from the prior: not drawn yet"></canvas>
    </article>
  </div>
</div>`;

/*
 * Each part's elements by their data-ref, as HTML above makes them (`part`: the part's first element).
 * A ref added or removed there belongs here too, so the controllers' use of it is checked (npx tsc).
 */
/** @typedef {{part: HTMLElement, plane: HTMLElement, planeBase: HTMLCanvasElement, planeOverlay: HTMLCanvasElement,
 *   handle: HTMLElement, decoded: HTMLCanvasElement, coords: HTMLElement, decodeMs: HTMLElement, legend: HTMLElement,
 *   selected: HTMLElement, selectedImage: HTMLCanvasElement, selectedText: HTMLElement,
 *   selectedA: HTMLButtonElement, selectedB: HTMLButtonElement, selectedClear: HTMLButtonElement,
 *   ellipses: HTMLInputElement, fixedAxes: HTMLInputElement, planeDigits: HTMLSelectElement,
 *   slice: HTMLElement, dimX: HTMLSelectElement, dimY: HTMLSelectElement, pca: HTMLInputElement,
 *   sliceNote: HTMLElement, spoken: HTMLElement}} PlaneRefs */
/** @typedef {{part: HTMLElement, panel: HTMLElement, holesPanel: HTMLElement, caption: HTMLElement,
 *   numbers: HTMLElement, elbo: HTMLElement, isLabel: HTMLElement, logLikelihood: HTMLElement,
 *   gridLogLikelihood: HTMLElement, gap: HTMLElement, holesText: HTMLElement, show: HTMLInputElement,
 *   source: HTMLSelectElement, zoom: HTMLInputElement, holes: HTMLInputElement}} PosteriorRefs */
/** @typedef {{part: HTMLElement, dropZone: HTMLElement, file: HTMLInputElement, uploadError: HTMLElement,
 *   uploadOriginal: HTMLCanvasElement, uploadProcessed: HTMLCanvasElement, uploadRecon: HTMLCanvasElement,
 *   uploadMu: HTMLElement, uploadA: HTMLButtonElement, uploadB: HTMLButtonElement, pad: HTMLCanvasElement,
 *   drawProcessed: HTMLCanvasElement, drawRecon: HTMLCanvasElement, drawMu: HTMLElement,
 *   drawClear: HTMLButtonElement, drawA: HTMLButtonElement, drawB: HTMLButtonElement}} YoursRefs */
/** @typedef {{part: HTMLElement, slerp: HTMLInputElement, interpA: HTMLCanvasElement, interpAText: HTMLElement,
 *   strip: HTMLCanvasElement, stripEmpty: HTMLElement, interpB: HTMLCanvasElement, interpBText: HTMLElement}} InterpolationRefs */
/** @typedef {{part: HTMLElement, source: HTMLSelectElement, corruption: HTMLSelectElement, method: HTMLSelectElement,
 *   observed: HTMLCanvasElement, repaired: HTMLCanvasElement, spread: HTMLCanvasElement,
 *   truth: HTMLCanvasElement, numbers: HTMLElement, evidence: HTMLElement, qualityName: HTMLElement,
 *   quality: HTMLElement, mse: HTMLElement, ms: HTMLElement, imputations: HTMLCanvasElement, latent: HTMLCanvasElement,
 *   note: HTMLElement}} RepairRefs */
/** @typedef {{part: HTMLElement, manifoldNote: HTMLElement, manifoldNOut: HTMLOutputElement,
 *   manifoldN: HTMLInputElement, manifold: HTMLCanvasElement, newSamples: HTMLButtonElement,
 *   samples: HTMLCanvasElement}} GridsRefs */

/**
 * @typedef {{root: HTMLElement, status: HTMLElement, plane: PlaneRefs, posterior: PosteriorRefs, yours: YoursRefs,
 *   interpolation: InterpolationRefs, repair: RepairRefs, grids: GridsRefs}} ExplorerRefs
 */

/**
 * Builds the explorer's DOM inside `root` and links its stylesheet once per document.
 * @param {HTMLElement} root
 * @returns {ExplorerRefs} the explorer's top element, its status line, and each part's elements
 *   by their data-ref (a part's own element is its `part`)
 */
export function buildLayout(root) {
  const doc = root.ownerDocument;
  const href = new URL('./explorer.css', import.meta.url).href;
  if (![...doc.querySelectorAll('link')].some((l) => l.rel === 'stylesheet' && l.href === href)) {
    const link = doc.createElement('link');
    link.rel = 'stylesheet';
    link.href = href;
    doc.head.append(link);
  }
  root.innerHTML = HTML;
  /** @type {Record<string, any>} filled from the HTML by name: its shape is ExplorerRefs's */
  const refs = { root: root.querySelector('.vx') };
  // A feature may own several places on the page (controls here, a panel there): `part` is its first.
  for (const part of refs.root.querySelectorAll('[data-part]')) refs[part.dataset.part] ??= { part };
  for (const el of refs.root.querySelectorAll('[data-ref]')) {
    const part = el.closest('[data-part]');
    (part && refs.root.contains(part) ? refs[part.dataset.part] : refs)[el.dataset.ref] = el;
  }
  return /** @type {ExplorerRefs} */ (refs);
}
