'use strict';
// Every behaviour is specified for both wait syscalls and both modes.
const { connect, connectSync } = require('../../dist/lib');

const WAITS = ['poll', 'select'];
const MODES = ['async', 'sync'];

/** Each (mode, wait) pair with a connect function that never throws. */
function* everyMode() {
  for (const mode of MODES) {
    for (const wait of WAITS) {
      const attempt = async (target, options = {}) => {
        try {
          const connection =
            mode === 'async' ? await connect(target, { ...options, wait }) : connectSync(target, { ...options, wait });
          return { connection };
        } catch (error) {
          return { error };
        }
      };
      yield { mode, wait, label: `${mode}, wait: '${wait}'`, attempt };
    }
  }
}

module.exports = { everyMode, WAITS, MODES };
