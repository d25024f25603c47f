export * from '../dist/lib/index.js';
import * as nbconnect from '../dist/lib/index.js';
export default nbconnect;
