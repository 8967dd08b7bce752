// How the worker speaks to the page (www/protocol.js): an answer or a progress report carries
// its request's id; an event is unsolicited.

export const post = (message, transfer = []) => self.postMessage(message, transfer);
export const emit = (event, detail, transfer) => post({ event, detail }, transfer);

/** A readable message for anything thrown: an Error, a string (wasm-bindgen's JsError), a value. */
export const messageOf = (error) =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
