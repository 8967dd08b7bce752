// How the worker speaks to the page (www/protocol.js): an answer or a progress report carries
// its request's id; an event is unsolicited.

export const post = (message, transfer = []) => self.postMessage(message, transfer);
export const emit = (event, detail, transfer) => post({ event, detail }, transfer);

/** The readable text of an error (protocol.js's, the page's too), beside post and emit for the worker's modules. */
export { messageOf } from '../protocol.js';
