/** Renders rows as an aligned text table with a header line (fitted to `width` when given). */
export { renderTable } from '../output.js';
