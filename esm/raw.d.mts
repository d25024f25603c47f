export * from '../dist/lib/raw.js';
