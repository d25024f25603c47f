// Loaded by test/native/sanitize.sh (mocha --require): with AddressSanitizer
// preloaded into an uninstrumented Node, every allocation is slower, so each
// test's own timeout is scaled. No assertion changes.
const FACTOR = 10;
export const mochaHooks = {
  beforeEach(this: Mocha.Context) {
    const test = this.currentTest!;
    if (test.timeout() > 0) test.timeout(test.timeout() * FACTOR);
  },
};
