// Event listeners added together and removed together (a controller's destroy()).

/**
 * @param {Array<[EventTarget, string, (event: Event) => void, (boolean|AddEventListenerOptions)?]>} bindings
 * @returns {() => void} removes them all
 */
export function listen(bindings) {
  for (const [target, type, fn, options] of bindings) target.addEventListener(type, fn, options);
  return () => {
    for (const [target, type, fn, options] of bindings) target.removeEventListener(type, fn, options);
  };
}
