'use strict';
// Built at install time (`node-gyp rebuild`, the package's install script) against Node's own headers.
module.exports = require('./build/Release/veilgate_crypto.node');
