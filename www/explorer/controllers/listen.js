// Event listeners added together and removed together (a controller's destroy()).

/**
 * @typedef {[EventTarget, string, (event: any) => void, (boolean|AddEventListenerOptions)?]} Binding
 *   the handler takes whatever its event type fires (a DragEvent, the client's CustomEvents): a
 *   list of mixed bindings cannot name one event type for all, so the handler's is `any`
 */

/**
 * @param {Binding[]} bindings
 * @returns {() => void} removes them all
 */
export function listen(bindings) {
  for (const [target, type, fn, options] of bindings) target.addEventListener(type, fn, options);
  return () => {
    for (const [target, type, fn, options] of bindings) target.removeEventListener(type, fn, options);
  };
}
