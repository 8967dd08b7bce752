// One colour per digit class, for the latent plane and its legend: the ten colours of D3's
// "category10" (from Tableau), chosen to stay distinguishable from each other on white.

/** CSS colours, indexed by digit 0–9. */
export const DIGIT_COLOURS = Object.freeze([
  '#1f77b4', // 0 blue
  '#ff7f0e', // 1 orange
  '#2ca02c', // 2 green
  '#d62728', // 3 red
  '#9467bd', // 4 purple
  '#8c564b', // 5 brown
  '#e377c2', // 6 pink
  '#7f7f7f', // 7 grey
  '#bcbd22', // 8 olive
  '#17becf', // 9 cyan
]);

/** The colour of digit `label` (grey for anything outside 0–9). */
export function digitColour(label) {
  return DIGIT_COLOURS[label] ?? '#444444';
}
